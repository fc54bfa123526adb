//! A global allocator for the fuzz binary and tests that caps memory: a single request over
//! [`MAX_ONE`] or a live total over [`MAX_LIVE`] is an unbounded allocation, a finding. The
//! input being run is saved (as `oom-<hash>` beside the crashes) and the process aborts,
//! since an allocation failure cannot unwind.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The largest single allocation a target may make.
pub const MAX_ONE: usize = 1 << 30;
/// The most memory a fuzz process may hold at once.
pub const MAX_LIVE: usize = 3 << 30;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static REPORTING: AtomicBool = AtomicBool::new(false);

/// The system allocator with the caps above.
pub struct Capped;

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size.saturating_sub(layout.size()));
        if new_size > MAX_ONE {
            check(new_size);
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

/// Reports and aborts when a request of `size` more bytes breaks a cap.
fn check(size: usize) {
    let live = LIVE.load(Ordering::Relaxed).saturating_add(size);
    if size <= MAX_ONE && live <= MAX_LIVE {
        return;
    }
    if REPORTING.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::driver::save_current("oom");
    eprintln!(
        "mpcc-fuzz: unbounded allocation: a request of {size} bytes with {live} bytes live \
         (caps: {MAX_ONE} at once, {MAX_LIVE} live), at\n{}",
        std::backtrace::Backtrace::force_capture()
    );
    std::process::abort();
}
