//! LEB128 unsigned varints: the per-entry headers inside a chunk (ts delta, lengths)
//! are mostly one byte each, which is what keeps a message's overhead to a few bytes.

/// Appends `value` as an unsigned LEB128 varint.
pub fn put(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// Writes `value` at `buf[*pos..]`, advancing `pos`; `None` if it does not fit.
pub fn put_at(buf: &mut [u8], pos: &mut usize, mut value: u64) -> Option<()> {
    loop {
        let byte = buf.get_mut(*pos)?;
        *pos += 1;
        if value < 0x80 {
            *byte = value as u8;
            return Some(());
        }
        *byte = (value as u8) | 0x80;
        value >>= 7;
    }
}

/// Bytes `put` would write for `value`.
pub fn len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads a varint at `*pos`, advancing it. `None` on truncation or a value over 64 bits,
/// so a corrupt buffer can never make a reader run past its end.
pub fn get(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return None;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(value: u64) {
            let mut buf = Vec::new();
            put(&mut buf, value);
            prop_assert_eq!(buf.len(), len(value));
            let mut pos = 0;
            prop_assert_eq!(get(&buf, &mut pos), Some(value));
            prop_assert_eq!(pos, buf.len());
        }

        #[test]
        fn truncated_input_is_refused(value in 128u64.., cut in 0usize..9) {
            let mut buf = Vec::new();
            put(&mut buf, value);
            let cut = cut.min(buf.len() - 1);
            let mut pos = 0;
            prop_assert_eq!(get(&buf[..cut], &mut pos), None);
        }
    }

    #[test]
    fn overlong_input_is_refused() {
        let buf = [0xffu8; 11];
        assert_eq!(get(&buf, &mut 0), None);
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(get(&too_big, &mut 0), None);
    }
}
