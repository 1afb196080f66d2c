-- Indexes that let FerretDB v1's PostgreSQL backend answer mp3convert's queries without
-- reading every document of a collection. Applied by local-dev/services.sh at every start
-- (idempotent), to the database FerretDB uses.
--
-- Why: FerretDB stores each collection as a table with one jsonb column, _jsonb, and pushes
-- an equality filter {k: v} down as `_jsonb -> 'k' @> v`. Its own indexes are B-trees on
-- `_jsonb -> 'k'`, which cannot serve @>, so without these every find by _id (and by
-- files_id, for other drivers' GridFS files) reads, and de-TOASTs, every 1 MiB chunk stored.
-- A GIN index on the same expression can. The server runs with plan_cache_mode =
-- force_custom_plan (the key is a statement parameter, and only a custom plan sees it as the
-- constant the index expression needs) and enable_seqscan = off (the planner does not count
-- the cost of de-TOASTing a document and otherwise prefers scanning a table whose rows,
-- being TOASTed, look small).

CREATE OR REPLACE FUNCTION mp3convert_index_collection(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    field text;
BEGIN
    FOREACH field IN ARRAY ARRAY['_id', 'files_id'] LOOP
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L) jsonb_path_ops)',
                       'mp3convert_' || tbl::oid || '_' || field, tbl, field);
    END LOOP;
END $$;

-- every table FerretDB creates from now on (one per collection)...
CREATE OR REPLACE FUNCTION mp3convert_index_new_collection() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands()
             WHERE command_tag = 'CREATE TABLE' AND object_type = 'table' LOOP
        IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = r.objid AND attname = '_jsonb') THEN
            PERFORM mp3convert_index_collection(r.objid::regclass);
        END IF;
    END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS mp3convert_index_new_collection;
CREATE EVENT TRIGGER mp3convert_index_new_collection ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION mp3convert_index_new_collection();

-- ...and every one that already exists
SELECT mp3convert_index_collection(a.attrelid::regclass)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attname = '_jsonb' AND n.nspname NOT IN ('pg_catalog', 'information_schema');
