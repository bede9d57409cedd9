//! Memory that runs out anyway, past the checks made before the run (another process took it,
//! or the limits could not be read): one line naming the cause, the temporary files removed,
//! exit 1 — instead of Rust's default abort with its backtrace and exit code 134.
//!
//! A process has one global allocator, and Rust expects it declared in the binary: every step's
//! `main.rs` says
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: gridgen::guard::OneLineOnFailure = gridgen::guard::OneLineOnFailure;
//! ```

use std::alloc::{GlobalAlloc, Layout, System};

/// The system's allocator, with a one-line ending when it fails.
pub struct OneLineOnFailure;

// SAFETY: every call is forwarded to the system allocator unchanged; only a failure (a null
// pointer) is handled, and it ends the process.
unsafe impl GlobalAlloc for OneLineOnFailure {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which is passed on as it is.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            super::handler::out_of_memory(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            super::handler::out_of_memory(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            super::handler::out_of_memory(new_size);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}
