//! Where random choices come from: the operating system's generator (what the providers
//! use, Go's crypto/rand) or, for `random_integer` and `random_shuffle` with a `seed`, a
//! stream derived from the seed, so the same seed gives the same result on every run.
//!
//! The seeded stream is forge's own (SHA-256 of the seed and a counter); the provider
//! seeds Go's math/rand from a CRC-64 of the seed, so a given seed picks a different
//! number in forge than in the provider (the provider itself promises no stability
//! across versions).

use forge_provider::ProviderError;
use sha2::{Digest, Sha256};

/// A source of uniformly random choices.
pub(crate) trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ProviderError>;

    /// A number in `0..n` (n > 0), every value equally likely (rejection sampling, no
    /// modulo bias).
    fn below(&mut self, n: u64) -> Result<u64, ProviderError> {
        if n <= 1 {
            return Ok(0);
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let mut b = [0u8; 8];
            self.fill(&mut b)?;
            let x = u64::from_le_bytes(b);
            if x < zone {
                return Ok(x % n);
            }
        }
    }

    /// A random permutation of `0..n` (Fisher-Yates).
    fn permutation(&mut self, n: usize) -> Result<Vec<usize>, ProviderError> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i as u64 + 1)? as usize;
            order.swap(i, j);
        }
        Ok(order)
    }
}

/// The operating system's generator.
pub(crate) struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ProviderError> {
        getrandom::fill(buf).map_err(|e| {
            ProviderError::new(format!("the operating system gave no random bytes: {e}"))
                .hint("retry; if it persists, the system's random source is unavailable")
        })
    }
}

/// A stream that depends only on the seed.
pub(crate) struct SeededEntropy {
    seed: Vec<u8>,
    counter: u64,
    block: Vec<u8>,
}

impl SeededEntropy {
    pub(crate) fn new(seed: &str) -> SeededEntropy {
        SeededEntropy {
            seed: seed.as_bytes().to_vec(),
            counter: 0,
            block: Vec::new(),
        }
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ProviderError> {
        for byte in buf.iter_mut() {
            if self.block.is_empty() {
                let mut h = Sha256::new();
                h.update(&self.seed);
                h.update(self.counter.to_le_bytes());
                self.counter += 1;
                self.block = h.finalize().to_vec();
            }
            *byte = self.block.pop().unwrap_or(0);
        }
        Ok(())
    }
}

/// The source for an optional seed: seeded when one is given (not empty), else the OS.
pub(crate) fn for_seed(seed: Option<&str>) -> Box<dyn Entropy> {
    match seed {
        Some(s) if !s.is_empty() => Box::new(SeededEntropy::new(s)),
        _ => Box::new(OsEntropy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_reaches_every_value() {
        let mut seen = [false; 7];
        for _ in 0..500 {
            let x = OsEntropy.below(7).expect("os");
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
    }

    #[test]
    fn a_seed_gives_the_same_stream_and_another_seed_another() {
        let a: Vec<u64> = (0..5)
            .scan(SeededEntropy::new("s"), |e, _| e.below(1000).ok())
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(SeededEntropy::new("s"), |e, _| e.below(1000).ok())
            .collect();
        let c: Vec<u64> = (0..5)
            .scan(SeededEntropy::new("t"), |e, _| e.below(1000).ok())
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_permutation_holds_each_index_once() {
        let mut p = OsEntropy.permutation(20).expect("os");
        p.sort_unstable();
        assert_eq!(p, (0..20).collect::<Vec<_>>());
    }
}
