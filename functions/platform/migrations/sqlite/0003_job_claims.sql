-- Every claim of a job moves `claim` on; writes made under a claim name it and change
-- nothing once a later claim has taken the job (fencing). `attempts` counts only the runs
-- that may have crashed the converter.
ALTER TABLE jobs ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
