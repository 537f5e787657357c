//! Kernels that run on the host's memory and threads, for the work where stylemark on a
//! CPU device does better than generic tensor operations: the nearest-patch search and
//! the encoders' convolutions with their hand-written backward passes.
//!
//! Everything here is deterministic and independent of the number of threads: work is
//! split by the data's size only, and every part is computed the same way whichever
//! thread computes it.

pub(crate) mod activation;
pub(crate) mod matmul;
pub(crate) mod planar;
pub(crate) mod scratch;
pub(crate) mod winograd;
