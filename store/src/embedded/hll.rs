//! A HyperLogLog for the embedded store's unique users per day, with Redis's parameters
//! (2^14 registers, about 0.81 % standard error) so both stores report alike.
//!
//! The input is a [`UserKey`](schemas::UserKey), already the output of a keyed hash, so its
//! bits are uniform and are used directly instead of hashing again.

const P: u32 = 14;
pub const REGISTERS: usize = 1 << P;

/// Registers as stored: one byte per register.
pub struct Hll(pub Vec<u8>);

impl Hll {
    pub fn new() -> Self {
        Hll(vec![0; REGISTERS])
    }

    /// Reads stored registers; anything of the wrong size starts empty.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        if bytes.len() == REGISTERS { Hll(bytes.to_vec()) } else { Hll::new() }
    }

    pub fn add(&mut self, hash: u64) {
        let index = (hash >> (64 - P)) as usize;
        // The remaining 50 bits, with a sentinel so the rank is at most 51.
        let rest = (hash << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if self.0[index] < rank {
            self.0[index] = rank;
        }
    }

    /// Keeps, per register, the larger of the two: the sketch of the union.
    pub fn merge(&mut self, other: &Hll) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(*b);
        }
    }

    pub fn count(&self) -> u64 {
        let m = REGISTERS as f64;
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for &r in &self.0 {
            sum += 2f64.powi(-i32::from(r));
            if r == 0 {
                zeros += 1;
            }
        }
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
        estimate.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64: a stand-in for the uniform bits of a keyed hash.
    fn mix(mut x: u64) -> u64 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }

    #[test]
    fn estimates_are_within_two_percent() {
        for n in [1u64, 10, 1_000, 26_671, 200_000] {
            let mut h = Hll::new();
            for i in 0..n {
                h.add(mix(i));
                h.add(mix(i)); // repeats do not count
            }
            let c = h.count() as f64;
            assert!((c - n as f64).abs() <= (n as f64 * 0.02).max(1.0), "n={n} estimate={c}");
        }
    }

    #[test]
    fn merging_counts_the_union() {
        let (mut a, mut b) = (Hll::new(), Hll::new());
        (0..5_000).for_each(|i| a.add(mix(i)));
        (2_500..7_500).for_each(|i| b.add(mix(i)));
        a.merge(&b);
        let c = a.count() as f64;
        assert!((c - 7_500.0).abs() < 150.0, "{c}");
    }
}
