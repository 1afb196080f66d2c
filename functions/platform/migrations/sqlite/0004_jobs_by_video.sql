-- for the retention sweep: the jobs of a stored video
CREATE INDEX jobs_video ON jobs (video_id);
