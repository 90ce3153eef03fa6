//! PFSELFTEST: the checks Redis runs on its own HyperLogLog code, run on kevy's.

use crate::commands::errors;
use crate::random::random_u64;
use crate::types::hll::{self, DENSE_SIZE, HEADER, REGISTERS};

/// Rounds of random register values written and read back.
const REGISTER_ROUNDS: usize = 1000;
/// Elements added in the accuracy test (checked at each power of ten).
const ELEMENTS: u64 = 10_000_000;

/// Runs both checks; Err holds the error reply.
pub fn run(sparse_max_bytes: u64) -> Result<(), String> {
    registers_round_trip()?;
    estimates_hold(sparse_max_bytes)
}

/// Dense registers read back what was written, for random values.
fn registers_round_trip() -> Result<(), String> {
    let mut registers = vec![0u8; DENSE_SIZE - HEADER];
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..REGISTER_ROUNDS {
        let mut bits = 0u64;
        for (i, slot) in expected.iter_mut().enumerate() {
            if i % 10 == 0 {
                bits = random_u64();
            }
            *slot = (bits & 63) as u8;
            bits >>= 6;
            hll::dense_set(&mut registers, i, *slot);
        }
        if let Some(i) = (0..REGISTERS).find(|&i| hll::dense_get(&registers, i) != expected[i]) {
            return Err(errors::pfselftest_failed(&format!("Register error at {i}")));
        }
    }
    Ok(())
}

/// A dense and a sparse HLL fed the same distinct elements agree, stay sparse while
/// small, and stay within six standard errors of the true count.
fn estimates_hold(sparse_max_bytes: u64) -> Result<(), String> {
    let mut dense = hll::new_sparse();
    hll::to_dense(&mut dense).expect("an empty HLL converts");
    let mut sparse = hll::new_sparse();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let seed = random_u64();
    let mut checkpoint = 1u64;
    for j in 1..=ELEMENTS {
        let element = (j ^ seed).to_le_bytes();
        let _ = hll::add(&mut dense, &element, sparse_max_bytes);
        hll::add(&mut sparse, &element, sparse_max_bytes).map_err(|_| errors::pfselftest_failed("sparse HLL corrupted"))?;
        if j != checkpoint {
            continue;
        }
        if j < sparse_max_bytes / 2 && hll::validate(&sparse) != Ok(hll::Encoding::Sparse) {
            return Err(errors::pfselftest_failed("sparse encoding not used"));
        }
        let estimate = hll::count(&dense).unwrap_or(u64::MAX);
        if hll::count(&sparse) != Ok(estimate) {
            return Err(errors::pfselftest_failed("dense/sparse disagree"));
        }
        // At 10 a collision is likely enough to allow one off.
        let max_error = if j == 10 { 1 } else { (relative_error * 6.0 * checkpoint as f64).ceil() as u64 };
        let error = checkpoint.abs_diff(estimate);
        if error > max_error {
            return Err(errors::pfselftest_failed(&format!("Too big error. card:{checkpoint} abserr:{error}")));
        }
        checkpoint *= 10;
    }
    Ok(())
}
