//! LAME on a thread of its own. Encoding is ~95% of a conversion's CPU time; with decoding,
//! mixing and resampling on the caller's thread and LAME here, the two overlap and a
//! conversion's wall time is about LAME's alone.
//!
//! Blocks go through a bounded queue ([`QUEUE_BLOCKS`]), so memory stays bounded; encoded
//! bytes come back to the caller, who alone writes to the sink (in order).

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, channel, sync_channel};
use std::thread::JoinHandle;

use crate::MediaError;
use crate::encode::lame::Mp3Encoder;

/// PCM blocks in flight between the two threads.
const QUEUE_BLOCKS: usize = 4;

enum Work {
    Pcm { left: Vec<f32>, right: Vec<f32> },
    Finish,
}

enum Encoded {
    Bytes(Vec<u8>),
    /// LAME's flushed tail and the final LAME/Xing tag frame.
    Finished {
        tail: Vec<u8>,
        tag: Vec<u8>,
    },
}

pub struct EncoderThread {
    work: SyncSender<Work>,
    encoded: Receiver<Result<Encoded, MediaError>>,
    thread: Option<JoinHandle<()>>,
}

impl EncoderThread {
    pub fn spawn(mut encoder: Mp3Encoder) -> Result<EncoderThread, MediaError> {
        let (work, work_rx) = sync_channel::<Work>(QUEUE_BLOCKS);
        // Unbounded, but it never holds more than the blocks queued above plus one.
        let (encoded_tx, encoded) = channel();
        let thread = std::thread::Builder::new()
            .name("lame".into())
            .spawn(move || {
                for job in work_rx {
                    let result = match job {
                        Work::Pcm { mut left, mut right } => {
                            full_scale(&mut left);
                            full_scale(&mut right);
                            encoder.encode(&left, &right).map(|b| Encoded::Bytes(b.to_vec()))
                        }
                        Work::Finish => {
                            encoder.flush().map(|tail| tail.to_vec()).map(|tail| Encoded::Finished { tail, tag: encoder.lame_tag() })
                        }
                    };
                    let stop = !matches!(result, Ok(Encoded::Bytes(_)));
                    if encoded_tx.send(result).is_err() || stop {
                        return;
                    }
                }
            })
            .map_err(MediaError::Io)?;
        Ok(EncoderThread { work, encoded, thread: Some(thread) })
    }

    /// Queues one block (`right` = `left` for mono), waiting while the queue is full, and
    /// hands every block already encoded to `write`.
    pub fn encode(
        &mut self,
        left: &[f32],
        right: &[f32],
        write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>,
    ) -> Result<(), MediaError> {
        if self.work.send(Work::Pcm { left: left.to_vec(), right: right.to_vec() }).is_err() {
            return Err(self.failure());
        }
        loop {
            match self.encoded.try_recv() {
                Ok(Ok(Encoded::Bytes(bytes))) => write(&bytes)?,
                Ok(Ok(Encoded::Finished { .. })) => return Err(MediaError::Encoder("encoder finished early".into())),
                Ok(Err(e)) => return Err(e),
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => return Err(self.failure()),
            }
        }
    }

    /// Encodes what is queued, flushes LAME (gapless), and returns the final tag frame.
    pub fn finish(mut self, write: &mut dyn FnMut(&[u8]) -> Result<(), MediaError>) -> Result<Vec<u8>, MediaError> {
        if self.work.send(Work::Finish).is_err() {
            return Err(self.failure());
        }
        loop {
            match self.encoded.recv() {
                Ok(Ok(Encoded::Bytes(bytes))) => write(&bytes)?,
                Ok(Ok(Encoded::Finished { tail, tag })) => {
                    write(&tail)?;
                    return Ok(tag);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(self.failure()),
            }
        }
    }

    /// Why the encoder thread stopped: its last error, or a crash.
    fn failure(&mut self) -> MediaError {
        while let Ok(result) = self.encoded.try_recv() {
            if let Err(e) = result {
                return e;
            }
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(_)) => MediaError::Encoder("the encoder thread crashed".into()),
            _ => MediaError::Encoder("the encoder thread stopped".into()),
        }
    }
}

/// LAME asserts (aborting the process) on NaN and overflows on huge samples, which float PCM
/// can carry: not-a-number becomes silence and everything past full scale is clipped, as a
/// player would.
pub(crate) fn full_scale(samples: &mut [f32]) {
    for s in samples {
        *s = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
    }
}

impl Drop for EncoderThread {
    fn drop(&mut self) {
        // Closing the queue ends the thread; wait so LAME's memory is freed before we return.
        let (closed, _) = sync_channel(0);
        drop(std::mem::replace(&mut self.work, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_lame_cannot_take_become_full_scale_or_silence() {
        let mut samples = [f32::NAN, f32::INFINITY, -1e30, 0.5, -1.5];
        full_scale(&mut samples);
        assert_eq!(samples, [0.0, 1.0, -1.0, 0.5, -1.0]);
    }
}
