//! Reusable working buffers, one pool per thread.
//!
//! The convolutions need large temporary buffers for every band of every layer. Fresh
//! allocations that size come straight from the operating system: zeroed pages, page
//! faults, and unmapping that interrupts the other cores. Buffers taken from this pool are
//! given back when dropped and reused by the next band on the same thread.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

thread_local! {
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// At most this many buffers are kept per thread.
const KEPT: usize = 8;

/// A buffer of `len` values from the thread's pool. Its contents are unspecified (what
/// an earlier user left): callers must write every value before reading it.
pub(crate) fn take(len: usize) -> Scratch {
    let mut values = POOL
        .with(|pool| {
            let mut pool = pool.borrow_mut();
            // The smallest kept buffer that is large enough, else the largest (grown).
            let fitting = pool
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= len)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i);
            fitting
                .or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].capacity()))
                .map(|i| pool.swap_remove(i))
        })
        .unwrap_or_default();
    values.resize(len, 0.0);
    values.truncate(len);
    Scratch { values }
}

/// A buffer from [`take`], returned to the pool of the thread that drops it.
pub(crate) struct Scratch {
    values: Vec<f32>,
}

impl Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.values
    }
}

impl DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.values
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let values = std::mem::take(&mut self.values);
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < KEPT {
                pool.push(values);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_have_the_asked_length_and_are_reused() {
        let first = take(1000);
        assert_eq!(first.len(), 1000);
        let address = first.as_ptr();
        drop(first);
        let second = take(500);
        assert_eq!(second.len(), 500);
        assert_eq!(second.as_ptr(), address, "the kept buffer is reused");
        let third = take(2000);
        assert_eq!(third.len(), 2000);
    }
}
