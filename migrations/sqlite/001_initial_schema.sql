-- LLM0 Gateway, migration 001 for the embedded SQLite store: the twin of
-- migrations/001_initial_schema.sql (PostgreSQL), same tables, columns and seed rows.
--
-- SQLite has no timestamptz, jsonb or numeric, so:
--   * timestamps are TEXT in ISO-8601 UTC with milliseconds ('2025-01-31T12:00:00.000Z'), which
--     sort and compare correctly as text;
--   * labels is TEXT holding a JSON object;
--   * money (prices, cost_usd) is TEXT holding a plain decimal ('0.000001234567'), so it stays
--     exact: SQLite's own numbers are 64-bit floats. The gateway sums it exactly, never as REAL.
--
-- The gateway runs this text inside BEGIN IMMEDIATE (so several processes starting at once take
-- turns) and it is harmless when applied again: objects are created only if missing and seed rows
-- never overwrite what an operator changed.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS api_keys (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    key_hash       TEXT NOT NULL UNIQUE,
    key_prefix     TEXT NOT NULL,
    rate_limit_rpm INTEGER NULL,
    customer_id    TEXT NULL,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at     TEXT NULL,
    last_used_at   TEXT NULL
);

CREATE TABLE IF NOT EXISTS model_pricing (
    model                    TEXT PRIMARY KEY,
    provider                 TEXT NOT NULL,
    input_per_million        TEXT NOT NULL,
    output_per_million       TEXT NOT NULL,
    cached_input_per_million TEXT NULL,
    updated_at               TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS request_logs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    request_id        TEXT NOT NULL,
    api_key_id        TEXT NULL,
    customer_id       TEXT NULL,
    labels            TEXT NOT NULL DEFAULT '{}',
    requested_model   TEXT,
    model             TEXT,
    provider          TEXT,
    status_code       INTEGER NOT NULL,
    error_type        TEXT NULL,
    stream            INTEGER NOT NULL DEFAULT 0,
    cache_hit         INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    cost_usd          TEXT NOT NULL DEFAULT '0',
    latency_ms        INTEGER NOT NULL DEFAULT 0,
    ttft_ms           INTEGER NULL
);

CREATE INDEX IF NOT EXISTS request_logs_created_at_idx ON request_logs (created_at);
CREATE INDEX IF NOT EXISTS request_logs_api_key_id_created_at_idx ON request_logs (api_key_id, created_at);
CREATE INDEX IF NOT EXISTS request_logs_customer_id_created_at_idx ON request_logs (customer_id, created_at);
CREATE INDEX IF NOT EXISTS request_logs_model_created_at_idx ON request_logs (model, created_at);

-- The test key gw_test_abc123 (100 requests/minute); key_hash = printf %s gw_test_abc123 | sha256sum.
INSERT OR IGNORE INTO api_keys (id, name, key_hash, key_prefix, rate_limit_rpm)
VALUES ('key_test', 'test key', '75e69c7e00a482131c0ecbc6925ce189b59799811d870978d8c0e54256068957', 'gw_test_abc1', 100);

-- The same list prices as the PostgreSQL migration (USD per 1M tokens: input, output, cached input).
INSERT OR IGNORE INTO model_pricing (model, provider, input_per_million, output_per_million, cached_input_per_million) VALUES
    ('gpt-4o',                      'openai',    '2.50',  '10.00', '1.25'),
    ('gpt-4o-mini',                 'openai',    '0.15',  '0.60',  '0.075'),
    ('gpt-4.1',                     'openai',    '2.00',  '8.00',  '0.50'),
    ('gpt-4.1-mini',                'openai',    '0.40',  '1.60',  '0.10'),
    ('gpt-4.1-nano',                'openai',    '0.10',  '0.40',  '0.025'),
    ('gpt-5',                       'openai',    '1.25',  '10.00', '0.125'),
    ('gpt-5-mini',                  'openai',    '0.25',  '2.00',  '0.025'),
    ('gpt-5-nano',                  'openai',    '0.05',  '0.40',  '0.005'),
    ('o3',                          'openai',    '2.00',  '8.00',  '0.50'),
    ('o4-mini',                     'openai',    '1.10',  '4.40',  '0.275'),
    ('claude-opus-4-1-20250805',    'anthropic', '15.00', '75.00', '1.50'),
    ('claude-opus-4-1',             'anthropic', '15.00', '75.00', '1.50'),
    ('claude-opus-4-20250514',      'anthropic', '15.00', '75.00', '1.50'),
    ('claude-opus-4-0',             'anthropic', '15.00', '75.00', '1.50'),
    ('claude-sonnet-4-5-20250929',  'anthropic', '3.00',  '15.00', '0.30'),
    ('claude-sonnet-4-5',           'anthropic', '3.00',  '15.00', '0.30'),
    ('claude-sonnet-4-20250514',    'anthropic', '3.00',  '15.00', '0.30'),
    ('claude-sonnet-4-0',           'anthropic', '3.00',  '15.00', '0.30'),
    ('claude-haiku-4-5-20251001',   'anthropic', '1.00',  '5.00',  '0.10'),
    ('claude-haiku-4-5',            'anthropic', '1.00',  '5.00',  '0.10'),
    ('claude-3-5-haiku-20241022',   'anthropic', '0.80',  '4.00',  '0.08'),
    ('claude-3-5-haiku-latest',     'anthropic', '0.80',  '4.00',  '0.08'),
    ('claude-3-5-sonnet-20241022',  'anthropic', '3.00',  '15.00', '0.30'),
    ('claude-3-5-sonnet-20240620',  'anthropic', '3.00',  '15.00', '0.30'),
    ('claude-3-haiku-20240307',     'anthropic', '0.25',  '1.25',  '0.03'),
    ('gemini-2.5-pro',              'gemini',    '1.25',  '10.00', '0.125'),
    ('gemini-2.5-flash',            'gemini',    '0.30',  '2.50',  '0.03'),
    ('gemini-2.5-flash-lite',       'gemini',    '0.10',  '0.40',  '0.01'),
    ('gemini-2.0-flash',            'gemini',    '0.10',  '0.40',  '0.025'),
    ('gemini-2.0-flash-lite',       'gemini',    '0.075', '0.30',  '0.01875');

INSERT OR IGNORE INTO schema_migrations (version) VALUES ('001');
