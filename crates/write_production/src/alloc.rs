//! Memory that runs out anyway, past the checks made before the run (another job on the node
//! took it, or a limit was lowered mid-run): one line naming the cause, the unfinished file
//! removed, exit code 1 — instead of Rust's default, which prints "memory allocation of N
//! bytes failed" and aborts with exit code 134, leaving the file behind.
//!
//! A Rust program has one **global allocator**, the code behind every `Vec` and `Box`; the
//! system's is the default. A program may declare its own in its `main.rs`, with
//! `#[global_allocator]`: this step declares [`OneLineOnFailure`], the system's allocator with
//! a different ending.

use std::alloc::{GlobalAlloc, Layout, System};

use crate::signals;

/// The system's allocator, ending the run in one line when it fails.
pub struct OneLineOnFailure;

// ANCHOR: alloc
// SAFETY: every call is passed to the system's allocator unchanged; only a failure (a null
// pointer) is handled, and it ends the process.
unsafe impl GlobalAlloc for OneLineOnFailure {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller keeps `alloc`'s contract, which is passed on as it is.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            signals::out_of_memory(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            signals::out_of_memory(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            signals::out_of_memory(new_size);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}
// ANCHOR_END: alloc
