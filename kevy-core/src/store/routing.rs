//! Which shard owns a key: a pure function of the key bytes and the shard count, stable
//! across restarts. `{hashtag}` is honoured so users can put keys on one shard.


/// Index of a shard, 0-based.
pub type ShardId = usize;

/// Fixed seeds: routing must not change between runs of the same build.
const SEEDS: [u64; 4] = [0x6b65_7679_0000_0001, 0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f, 0x1656_67b1_9e37_79f9];

fn hasher() -> &'static ahash::RandomState {
    static STATE: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    STATE.get_or_init(|| ahash::RandomState::with_seeds(SEEDS[0], SEEDS[1], SEEDS[2], SEEDS[3]))
}

/// The part of a key that routing hashes: the text inside the first non-empty `{...}`,
/// as Redis Cluster does, else the whole key.
pub fn hash_part(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

/// Stable 64-bit hash of a key's routing part.
pub fn key_hash(key: &[u8]) -> u64 {
    hasher().hash_one(hash_part(key))
}

/// The shard that owns `key` among `shards`.
#[inline]
pub fn shard_of(key: &[u8], shards: usize) -> ShardId {
    if shards <= 1 {
        return 0;
    }
    // Multiply-shift maps the hash onto [0, shards) without a division.
    ((key_hash(key) as u128 * shards as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_colocate() {
        assert_eq!(hash_part(b"user:{42}:name"), b"42");
        assert_eq!(hash_part(b"{}x"), b"{}x");
        assert_eq!(hash_part(b"a{b"), b"a{b");
        for n in 1..8 {
            assert_eq!(shard_of(b"{u1}a", n), shard_of(b"{u1}b", n));
        }
    }

    #[test]
    fn spreads_keys() {
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            counts[shard_of(format!("key:{i}").as_bytes(), 4)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }
}
