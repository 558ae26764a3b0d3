//! What an allocation really costs: MEMORY USAGE reports the allocator's size classes,
//! not the bytes asked for, so it stays within a few percent of `used_memory`.

/// The bytes the allocator (jemalloc, Redis's) gives a request of `bytes`: its size
/// classes are 8, then multiples of 16 up to 128, then four per doubling.
pub fn allocation_size(bytes: usize) -> usize {
    match bytes {
        0 => 0,
        1..=8 => 8,
        9..=128 => bytes.div_ceil(16) * 16,
        _ => {
            let step = bytes.next_power_of_two() / 8;
            bytes.div_ceil(step) * step
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_sizes_follow_the_size_classes() {
        let classes: Vec<usize> = [1, 8, 9, 17, 128, 129, 160, 161, 256, 257, 1000].map(allocation_size).to_vec();
        assert_eq!(classes, [8, 8, 16, 32, 128, 160, 160, 192, 256, 320, 1024]);
    }
}
