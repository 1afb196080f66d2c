//! Integration tests of the conversion engine: each test makes a short fixture with ffmpeg,
//! converts it and checks the MP3 with ffmpeg/ffprobe. ffmpeg and ffprobe must be on PATH
//! (`apt-get install ffmpeg`); without them these tests fail, they never skip.

mod asf;
mod avi_codecs;
mod codecs;
mod errors;
mod features;
mod flv;
mod formats;
mod layouts;
mod limits;
mod mpegps;
mod mpegts;
mod parallel;
mod support;
