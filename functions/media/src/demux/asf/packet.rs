//! One ASF data packet to its payloads: error correction data, the payload parsing
//! information (variable-width fields whose widths the flags give), then one payload or
//! several, each with its replicated data; compressed payloads hold several media objects.
//! Padding at the end is left out.

#![deny(clippy::arithmetic_side_effects)]

/// A field of 0, 1, 2 or 4 bytes (width code 0–3), little-endian.
fn field(p: &[u8], at: &mut usize, code: u8) -> Option<usize> {
    let width = match code & 3 {
        0 => return Some(0),
        1 => 1,
        2 => 2,
        _ => 4,
    };
    let bytes = p.get(*at..at.checked_add(width)?)?;
    *at = at.checked_add(width)?;
    let mut le = [0u8; 4];
    le.get_mut(..width)?.copy_from_slice(bytes);
    usize::try_from(u32::from_le_bytes(le)).ok()
}

fn byte(p: &[u8], at: &mut usize) -> Option<u8> {
    let b = *p.get(*at)?;
    *at = at.checked_add(1)?;
    Some(b)
}

/// Calls `out(stream number, media object bytes)` for each payload of `packet`; `None` (after
/// the payloads before it) when the packet is malformed.
pub fn payloads(packet: &[u8], out: &mut impl FnMut(u8, &[u8])) -> Option<()> {
    let mut at = 0usize;
    let mut flags = byte(packet, &mut at)?;
    if flags & 0x80 != 0 {
        // Error correction data: its length in the low 4 bits.
        at = at.checked_add(usize::from(flags & 0x0f))?;
        flags = byte(packet, &mut at)?;
    }
    let properties = byte(packet, &mut at)?;
    let packet_len = field(packet, &mut at, flags >> 5)?;
    let _sequence = field(packet, &mut at, flags >> 1)?;
    let padding = field(packet, &mut at, flags >> 3)?;
    // Send time (4) and duration (2).
    at = at.checked_add(6)?;
    let len = if packet_len == 0 { packet.len() } else { packet_len.min(packet.len()) };
    let end = len.checked_sub(padding)?;
    let body = packet.get(..end)?;
    let codes = Codes { replicated: properties, offset: properties >> 2, object: properties >> 4 };
    if flags & 1 == 0 {
        return payload(body, &mut at, codes, None, out);
    }
    let multiple = byte(body, &mut at)?;
    for _ in 0..multiple & 0x3f {
        payload(body, &mut at, codes, Some(multiple >> 6), out)?;
    }
    Some(())
}

#[derive(Clone, Copy)]
struct Codes {
    replicated: u8,
    offset: u8,
    object: u8,
}

/// One payload at `at`; `length` is the width code of its length field (multiple payloads),
/// else it runs to the end of `body`.
fn payload(body: &[u8], at: &mut usize, codes: Codes, length: Option<u8>, out: &mut impl FnMut(u8, &[u8])) -> Option<()> {
    let stream = byte(body, at)? & 0x7f;
    let _object = field(body, at, codes.object)?;
    let _offset = field(body, at, codes.offset)?;
    let replicated = field(body, at, codes.replicated)?;
    // Replicated data of length 1 marks a compressed payload: a presentation time delta byte,
    // then media objects of a byte's length each.
    let compressed = replicated == 1;
    *at = at.checked_add(if compressed { 1 } else { replicated })?;
    let len = match length {
        Some(code) => field(body, at, code)?,
        None => body.len().checked_sub(*at)?,
    };
    let end = at.checked_add(len)?;
    let data = body.get(*at..end)?;
    *at = end;
    if !compressed {
        out(stream, data);
        return Some(());
    }
    let mut i = 0usize;
    while i < data.len() {
        let n = usize::from(byte(data, &mut i)?);
        let object = data.get(i..i.checked_add(n)?)?;
        out(stream, object);
        i = i.checked_add(n)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(packet: &[u8]) -> (Option<()>, Vec<(u8, Vec<u8>)>) {
        let mut got = Vec::new();
        let r = payloads(packet, &mut |s, d| got.push((s, d.to_vec())));
        (r, got)
    }

    #[test]
    fn multiple_payloads_with_replicated_data_and_padding() {
        // As ffmpeg writes them: error correction (2 bytes), multiple payloads, a padding byte,
        // object number byte, offset dword, replicated length byte, payload length word.
        let mut p = vec![0x82, 0, 0, 0x09, 0x5d, 3, 0, 0, 0, 0, 0x2e, 0, 0x82];
        p.extend([0x82, 1, 0, 0, 0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0xa, 0xb, 0xc]);
        p.extend([0x01, 7, 0, 0, 0, 0, 0, 1, 0, 0xd]);
        p.extend([0xee; 3]);
        let (r, got) = collect(&p);
        assert_eq!(r, Some(()));
        assert_eq!(got, vec![(2, vec![0xa, 0xb, 0xc]), (1, vec![0xd])]);
    }

    #[test]
    fn a_single_compressed_payload_holds_several_objects() {
        let p = [0x00, 0x5d, 0, 0, 0, 0, 0, 0, 0x02, 9, 0, 0, 0, 0, 1, 0x10, 2, 0xa, 0xb, 1, 0xc];
        assert_eq!(collect(&p).1, vec![(2, vec![0xa, 0xb]), (2, vec![0xc])]);
    }

    #[test]
    fn truncated_or_lying_packets_stop_without_panicking() {
        let p = [0x82, 0, 0, 0x09, 0x5d, 3, 0, 0, 0, 0, 0x2e, 0, 0x85, 0x82, 1, 0, 0, 0, 0, 8];
        assert_eq!(collect(&p), (None, vec![]));
        assert_eq!(collect(&[0x8f]), (None, vec![]));
        assert_eq!(collect(&[]).0, None);
    }
}
