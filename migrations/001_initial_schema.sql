-- LLM0 Gateway, migration 001: API keys, the price table, request logs.
--
-- Applies cleanly with `psql -v ON_ERROR_STOP=1 -f migrations/001_initial_schema.sql` on an
-- empty database, and is harmless when applied again: every object is created only if missing,
-- seed rows never overwrite what an operator changed, and the migration records itself in
-- schema_migrations, the table the gateway reads to decide what is pending. The gateway runs this
-- same text (built into the binary) under pg_advisory_lock, so starting several processes at once
-- is safe. One transaction: a failure leaves the database as it was.
--
-- Money is numeric, never floating point: prices in USD per million tokens with 9 decimal places,
-- costs in USD with 12.

BEGIN;

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Gateway keys. Only the SHA-256 of a key is stored (lowercase hex); the plaintext is shown once,
-- at creation, and key_prefix (its first 12 characters) lets a person recognise it in a list.
CREATE TABLE IF NOT EXISTS api_keys (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    key_hash       text NOT NULL UNIQUE,
    key_prefix     text NOT NULL,
    rate_limit_rpm integer NULL, -- NULL: RATE_LIMIT_RPM
    customer_id    text NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz NULL,
    last_used_at   timestamptz NULL
);

-- USD per 1,000,000 tokens. cached_input_per_million prices cached prompt tokens (OpenAI's
-- cached_tokens, Anthropic's cache hits, Gemini's cached content); NULL: billed as input.
CREATE TABLE IF NOT EXISTS model_pricing (
    model                    text PRIMARY KEY,
    provider                 text NOT NULL,
    input_per_million        numeric(20,9) NOT NULL,
    output_per_million       numeric(20,9) NOT NULL,
    cached_input_per_million numeric(20,9) NULL,
    updated_at               timestamptz DEFAULT now()
);

-- One row per request the gateway answered. Bodies are not stored.
CREATE TABLE IF NOT EXISTS request_logs (
    id                bigserial PRIMARY KEY,
    created_at        timestamptz NOT NULL DEFAULT now(),
    request_id        text NOT NULL,
    api_key_id        text NULL,
    customer_id       text NULL,
    labels            jsonb NOT NULL DEFAULT '{}',
    requested_model   text,
    model             text,
    provider          text,
    status_code       integer NOT NULL,
    error_type        text NULL,
    stream            boolean NOT NULL DEFAULT false,
    cache_hit         boolean NOT NULL DEFAULT false,
    attempts          integer NOT NULL DEFAULT 0,
    prompt_tokens     integer NOT NULL DEFAULT 0,
    completion_tokens integer NOT NULL DEFAULT 0,
    cached_tokens     integer NOT NULL DEFAULT 0,
    cost_usd          numeric(20,12) NOT NULL DEFAULT 0,
    latency_ms        integer NOT NULL DEFAULT 0,
    ttft_ms           integer NULL
);

CREATE INDEX IF NOT EXISTS request_logs_created_at_idx ON request_logs (created_at);
CREATE INDEX IF NOT EXISTS request_logs_api_key_id_created_at_idx ON request_logs (api_key_id, created_at);
CREATE INDEX IF NOT EXISTS request_logs_customer_id_created_at_idx ON request_logs (customer_id, created_at);
CREATE INDEX IF NOT EXISTS request_logs_model_created_at_idx ON request_logs (model, created_at);

-- The test key gw_test_abc123 (100 requests/minute); key_hash = printf %s gw_test_abc123 | sha256sum.
-- GATEWAY_ENV=production refuses to start while it is active: revoke it before going live.
INSERT INTO api_keys (id, name, key_hash, key_prefix, rate_limit_rpm)
VALUES ('key_test', 'test key', '75e69c7e00a482131c0ecbc6925ce189b59799811d870978d8c0e54256068957', 'gw_test_abc1', 100)
ON CONFLICT DO NOTHING;

-- List prices from docs: OpenAI (cached input = cached_tokens price), Anthropic (cached input =
-- cache-hit price; dated API ids and their aliases), Gemini (prompts up to 200K tokens).
INSERT INTO model_pricing (model, provider, input_per_million, output_per_million, cached_input_per_million) VALUES
    ('gpt-4o',                     'openai',     2.50,  10.00, 1.25),
    ('gpt-4o-mini',                'openai',     0.15,   0.60, 0.075),
    ('gpt-4.1',                    'openai',     2.00,   8.00, 0.50),
    ('gpt-4.1-mini',               'openai',     0.40,   1.60, 0.10),
    ('gpt-4.1-nano',               'openai',     0.10,   0.40, 0.025),
    ('gpt-5',                      'openai',     1.25,  10.00, 0.125),
    ('gpt-5-mini',                 'openai',     0.25,   2.00, 0.025),
    ('gpt-5-nano',                 'openai',     0.05,   0.40, 0.005),
    ('o3',                         'openai',     2.00,   8.00, 0.50),
    ('o4-mini',                    'openai',     1.10,   4.40, 0.275),
    ('claude-opus-4-1-20250805',   'anthropic', 15.00,  75.00, 1.50),
    ('claude-opus-4-1',            'anthropic', 15.00,  75.00, 1.50),
    ('claude-opus-4-20250514',     'anthropic', 15.00,  75.00, 1.50),
    ('claude-opus-4-0',            'anthropic', 15.00,  75.00, 1.50),
    ('claude-sonnet-4-5-20250929', 'anthropic',  3.00,  15.00, 0.30),
    ('claude-sonnet-4-5',          'anthropic',  3.00,  15.00, 0.30),
    ('claude-sonnet-4-20250514',   'anthropic',  3.00,  15.00, 0.30),
    ('claude-sonnet-4-0',          'anthropic',  3.00,  15.00, 0.30),
    ('claude-haiku-4-5-20251001',  'anthropic',  1.00,   5.00, 0.10),
    ('claude-haiku-4-5',           'anthropic',  1.00,   5.00, 0.10),
    ('claude-3-5-haiku-20241022',  'anthropic',  0.80,   4.00, 0.08),
    ('claude-3-5-haiku-latest',    'anthropic',  0.80,   4.00, 0.08),
    ('claude-3-5-sonnet-20241022', 'anthropic',  3.00,  15.00, 0.30),
    ('claude-3-5-sonnet-20240620', 'anthropic',  3.00,  15.00, 0.30),
    ('claude-3-haiku-20240307',    'anthropic',  0.25,   1.25, 0.03),
    ('gemini-2.5-pro',             'gemini',     1.25,  10.00, 0.125),
    ('gemini-2.5-flash',           'gemini',     0.30,   2.50, 0.03),
    ('gemini-2.5-flash-lite',      'gemini',     0.10,   0.40, 0.01),
    ('gemini-2.0-flash',           'gemini',     0.10,   0.40, 0.025),
    ('gemini-2.0-flash-lite',      'gemini',     0.075,  0.30, 0.01875)
ON CONFLICT (model) DO NOTHING;

INSERT INTO schema_migrations (version) VALUES ('001') ON CONFLICT (version) DO NOTHING;

COMMIT;
