-- benchlab schema version 1: the catalogue, runs, tidy results, compatibility, tests.
-- Keys come from sequences (never MAX(id)+1).  Results carry no foreign-key
-- constraint so that bulk loads of millions of rows stay fast; `benchlab check`
-- finds orphans instead.
CREATE SEQUENCE source_id_seq START 1;
CREATE SEQUENCE run_id_seq START 1;
CREATE SEQUENCE compat_id_seq START 1;
CREATE SEQUENCE test_id_seq START 1;

CREATE TABLE sources (
    source_id   BIGINT PRIMARY KEY DEFAULT nextval('source_id_seq'),
    path        VARCHAR NOT NULL,
    format      VARCHAR NOT NULL,
    digest      VARCHAR NOT NULL UNIQUE,
    ingested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    n_runs      INTEGER NOT NULL,
    n_results   BIGINT NOT NULL
);

CREATE TABLE hardware (
    name          VARCHAR PRIMARY KEY,
    type          VARCHAR NOT NULL,
    device_name   VARCHAR,
    vendor        VARCHAR,
    memory_gb     DOUBLE CHECK (memory_gb >= 0),
    peak_tflops   DOUBLE CHECK (peak_tflops >= 0),
    bandwidth_gbs DOUBLE CHECK (bandwidth_gbs >= 0),
    metadata      JSON
);

CREATE TABLE models (
    name     VARCHAR PRIMARY KEY,
    family   VARCHAR,
    modality VARCHAR,
    params_m DOUBLE CHECK (params_m >= 0),
    metadata JSON
);

CREATE TABLE runs (
    run_id      BIGINT PRIMARY KEY DEFAULT nextval('run_id_seq'),
    source_id   BIGINT NOT NULL,
    run_key     VARCHAR,
    "commit"    VARCHAR,
    branch      VARCHAR,
    machine     VARCHAR,
    started_at  TIMESTAMPTZ,
    ended_at    TIMESTAMPTZ,
    environment JSON,
    provenance  VARCHAR NOT NULL CHECK (provenance IN ('measured', 'simulated', 'predicted')),
    simulated   BOOLEAN GENERATED ALWAYS AS (provenance <> 'measured') VIRTUAL,
    metadata    JSON
);

CREATE TABLE results (
    run_id        BIGINT NOT NULL,
    series_key    VARCHAR NOT NULL,
    benchmark     VARCHAR NOT NULL,
    model         VARCHAR,
    hardware      VARCHAR,
    hardware_type VARCHAR,
    batch_size    BIGINT,
    seq_len       BIGINT,
    "precision"   VARCHAR,
    params        VARCHAR,
    metric        VARCHAR NOT NULL,
    unit          VARCHAR NOT NULL,
    value         DOUBLE NOT NULL,
    direction     VARCHAR NOT NULL,
    n_samples     BIGINT,
    stddev        DOUBLE,
    min           DOUBLE,
    median        DOUBLE,
    p90           DOUBLE,
    p95           DOUBLE,
    p99           DOUBLE,
    max           DOUBLE,
    orig_value    DOUBLE,
    orig_unit     VARCHAR,
    samples       DOUBLE[]
);

CREATE TABLE compatibility (
    compat_id     BIGINT PRIMARY KEY DEFAULT nextval('compat_id_seq'),
    run_id        BIGINT,
    source_id     BIGINT NOT NULL,
    model         VARCHAR NOT NULL,
    hardware      VARCHAR NOT NULL,
    level         VARCHAR NOT NULL CHECK (level IN ('full', 'limited', 'experimental', 'unsupported')),
    error_type    VARCHAR,
    error_message VARCHAR,
    suggested_fix VARCHAR,
    metadata      JSON
);

CREATE TABLE integration_tests (
    test_id    BIGINT PRIMARY KEY DEFAULT nextval('test_id_seq'),
    run_id     BIGINT,
    source_id  BIGINT NOT NULL,
    name       VARCHAR NOT NULL,
    model      VARCHAR,
    hardware   VARCHAR,
    status     VARCHAR NOT NULL CHECK (status IN ('passed', 'failed', 'skipped', 'error')),
    duration_s DOUBLE CHECK (duration_s >= 0),
    error      VARCHAR,
    metadata   JSON
);
