-- benchlab schema version 3: predictions made by benchlab.predict.
-- Kept apart from `results` so that a prediction can never be read as a
-- measurement.  Each row records the model (name, version) and a hash of the
-- training inputs that made it, so every predicted figure can be traced and
-- reproduced.  Append-only; ids come from a sequence.
CREATE SEQUENCE prediction_id_seq START 1;

CREATE TABLE predictions (
    prediction_id BIGINT PRIMARY KEY DEFAULT nextval('prediction_id_seq'),
    model_name    VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    training_hash VARCHAR NOT NULL,
    n_train       BIGINT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    series_key    VARCHAR,
    benchmark     VARCHAR,
    model         VARCHAR,
    hardware      VARCHAR,
    batch_size    BIGINT,
    seq_len       BIGINT,
    "precision"   VARCHAR,
    params        VARCHAR,
    metric        VARCHAR NOT NULL,
    unit          VARCHAR,
    direction     VARCHAR CHECK (direction IN ('lower', 'higher')),
    prediction    DOUBLE NOT NULL CHECK (prediction >= 0),
    lower         DOUBLE,
    upper         DOUBLE,
    coverage      DOUBLE CHECK (coverage > 0 AND coverage < 1),
    basis         VARCHAR,
    CHECK (lower IS NULL OR upper IS NULL OR lower <= upper)
);

CREATE INDEX predictions_series_idx ON predictions (series_key);
CREATE INDEX predictions_hash_idx ON predictions (training_hash);
