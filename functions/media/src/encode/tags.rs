//! The ID3v2.4 tag written at the start of the MP3: title (or the caller's fallback), artist,
//! album, date, comment and the first attached picture, taken from the source's metadata.

use id3::frame::{Comment, Picture, PictureType};
use id3::{Tag, TagLike, Version};
use symphonia::core::formats::FormatReader;
use symphonia::core::meta::{MetadataContainer, RawTag, RawValue, StandardTag, StandardVisualKey};

/// What we carry over; gathered from every metadata revision the demuxer has read so far.
#[derive(Debug, Default, Clone)]
pub struct SourceTags {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub date: Option<String>,
    pub comment: Option<String>,
    pub picture: Option<(String, Vec<u8>)>,
}

impl SourceTags {
    pub fn read(format: &mut dyn FormatReader, track_id: u32) -> SourceTags {
        let mut tags = SourceTags::default();
        let mut meta = format.metadata();
        loop {
            if let Some(rev) = meta.current() {
                tags.absorb(&rev.media);
                for t in rev.per_track.iter().filter(|t| t.track_id == u64::from(track_id)) {
                    tags.absorb(&t.metadata);
                }
            }
            if meta.is_latest() {
                break;
            }
            meta.pop();
        }
        tags
    }

    fn absorb(&mut self, c: &MetadataContainer) {
        for tag in &c.tags {
            let Some(std) = &tag.std else {
                self.absorb_raw(&tag.raw);
                continue;
            };
            let (slot, value) = match std {
                StandardTag::TrackTitle(v) => (&mut self.title, v.to_string()),
                StandardTag::Artist(v) => (&mut self.artist, v.to_string()),
                StandardTag::AlbumArtist(v) if self.artist.is_none() => (&mut self.artist, v.to_string()),
                StandardTag::Album(v) => (&mut self.album, v.to_string()),
                StandardTag::RecordingDate(v) | StandardTag::ReleaseDate(v) => (&mut self.date, v.to_string()),
                StandardTag::RecordingYear(y) | StandardTag::ReleaseYear(y) => (&mut self.date, y.to_string()),
                StandardTag::Comment(v) => (&mut self.comment, v.to_string()),
                _ => continue,
            };
            let value = bounded(value.trim());
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value);
            }
        }
        if self.picture.is_none() {
            let best = c.visuals.iter().find(|v| v.usage == Some(StandardVisualKey::FrontCover)).or_else(|| c.visuals.first());
            if let Some(v) = best.filter(|v| !v.data.is_empty() && v.data.len() <= MAX_PICTURE_BYTES) {
                let mime = v.media_type.clone().unwrap_or_else(|| sniff_mime(&v.data).to_owned());
                self.picture = Some((mime, v.data.to_vec()));
            }
        }
    }

    /// Tags a muxer stored under a free-form key, e.g. ffmpeg's `TXXX:comment` in MP3.
    fn absorb_raw(&mut self, raw: &RawTag) {
        let RawValue::String(value) = &raw.value else { return };
        // ID3 TXXX frames carry their name in a DESCRIPTION sub-field.
        let described = raw.sub_fields.iter().flatten().find_map(|f| match (&f.field[..], &f.value) {
            ("DESCRIPTION", RawValue::String(d)) => Some(d.as_str()),
            _ => None,
        });
        let key = described.unwrap_or(&raw.key).to_ascii_lowercase();
        let key = key.rsplit([':', '/']).next().unwrap_or(&key);
        let slot = match key {
            "comment" | "description" => &mut self.comment,
            "date" | "year" => &mut self.date,
            "title" => &mut self.title,
            "artist" => &mut self.artist,
            "album" => &mut self.album,
            _ => return,
        };
        let value = bounded(value.trim());
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value);
        }
    }

    /// Serialises the ID3v2.4 tag.
    pub fn to_id3(&self, fallback_title: &str) -> Result<Vec<u8>, id3::Error> {
        let mut tag = Tag::new();
        let title = self.title.as_deref().unwrap_or(fallback_title);
        if !title.is_empty() {
            tag.set_title(title);
        }
        if let Some(a) = &self.artist {
            tag.set_artist(a.as_str());
        }
        if let Some(a) = &self.album {
            tag.set_album(a.as_str());
        }
        if let Some(d) = &self.date {
            match d.parse::<id3::Timestamp>() {
                Ok(ts) => tag.set_date_recorded(ts),
                Err(_) => tag.set_text("TDRC", d.as_str()),
            }
        }
        if let Some(c) = &self.comment {
            tag.add_frame(Comment { lang: "eng".into(), description: String::new(), text: c.clone() });
        }
        if let Some((mime, data)) = &self.picture {
            tag.add_frame(Picture {
                mime_type: mime.clone(),
                picture_type: PictureType::CoverFront,
                description: String::new(),
                data: data.clone(),
            });
        }
        let mut out = Vec::new();
        tag.write_to(&mut out, Version::Id3v24)?;
        Ok(out)
    }
}

/// Cover art larger than this is not copied into the MP3.
const MAX_PICTURE_BYTES: usize = 4 << 20;
/// Text tags are cut to this many characters.
const MAX_TEXT_CHARS: usize = 4096;

fn bounded(text: &str) -> String {
    text.chars().take(MAX_TEXT_CHARS).collect()
}

fn sniff_mime(data: &[u8]) -> &'static str {
    if data.starts_with(&[0x89, b'P', b'N', b'G']) { "image/png" } else { "image/jpeg" }
}
