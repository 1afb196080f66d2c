-- A processing job is leased to one converter until lease_until (unix ms); an expired lease
-- means its converter died and another delivery of the event may take the job over.
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
-- What the converter reported, so a repeated delivery gets the same reply.
ALTER TABLE jobs ADD COLUMN duration_ms INTEGER;
ALTER TABLE jobs ADD COLUMN bytes INTEGER;
