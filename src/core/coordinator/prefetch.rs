//! Cache-line prefetch: asks the CPU to start loading a line the caller will read soon. Unlike a
//! plain read of it, a prefetch does not hold up the instructions after it while the line
//! arrives (at 1M viewers nearly every node an event touches is a cache miss).

/// Whether `line` prefetches here.
pub(crate) const AVAILABLE: bool = cfg!(target_arch = "x86_64");

/// Starts loading the cache line of `item` (x86_64); false elsewhere: the caller reads it.
#[inline(always)]
pub(crate) fn line<T>(item: &T) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint to the cache: it never faults and changes no memory,
        // and the pointer comes from a live reference.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast::<i8>()) };
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = item;
        false
    }
}
