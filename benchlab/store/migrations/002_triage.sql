-- benchlab schema version 2: triage of detected changes and gate findings.
-- Append-only: a new row per decision, so the history is kept; the latest row
-- (highest triage_id) of a change_id is its current status.  The first-bad
-- point and kind are recorded so that detection can recognise the same change
-- when its estimated location moves by a point as more data arrives.
CREATE SEQUENCE triage_id_seq START 1;

CREATE TABLE triage (
    triage_id           BIGINT PRIMARY KEY DEFAULT nextval('triage_id_seq'),
    change_id           VARCHAR NOT NULL,
    series_key          VARCHAR,
    provenance          VARCHAR,
    kind                VARCHAR CHECK (kind IN ('regression', 'improvement')),
    status              VARCHAR NOT NULL CHECK (status IN ('acknowledged', 'expected', 'false_alarm', 'fixed')),
    note                VARCHAR,
    link                VARCHAR,
    author              VARCHAR,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    first_bad_commit    VARCHAR,
    first_bad_timestamp TIMESTAMPTZ,
    last_good_commit    VARCHAR,
    last_good_timestamp TIMESTAMPTZ
);

CREATE INDEX triage_change_idx ON triage (change_id);
