//! A small size-class allocator for a module's linear memory.
//!
//! Behaviour:
//! - Every block is a power of two from 16 bytes up, with an 8-byte header
//!   holding its class; the pointer handed out is the block + 8, so it is
//!   8-byte aligned (larger alignments are refused: null).
//! - A freed block goes onto its class's free list and is reused, first,
//!   by the next request of the same class. Blocks are never split or
//!   merged, so the worst case wastes just under half of a block.
//! - New blocks are carved from a bump region that starts at the linker's
//!   `__heap_base` (the end of the static data and stack) and grows the
//!   memory with `memory.grow` a page at a time, as needed. Memory is never
//!   given back (WebAssembly cannot shrink it).
//! - The agent's delivery pattern (allocate a topic+payload buffer, run the
//!   handler, free it) therefore reaches a steady state after the first
//!   message of each size class: no growth, O(1) per event.
//! - Single-threaded, as a wasm32 instance is.
//!
//! The state machine is target-independent (`Heap`, over any address
//! range) so the host tests exercise it; on wasm32 `HEAP` runs it over the
//! module's memory and is the `#[global_allocator]`.

const HEADER: usize = 8;
const MIN_SHIFT: u32 = 4; // 16-byte blocks
const CLASSES: usize = 27; // up to 1 GiB blocks
const PAGE: usize = 65536;

/// The allocator's state over a region `[bump, end)` that `grow` extends.
pub struct Heap {
    free: [usize; CLASSES],
    bump: usize,
    end: usize,
}

impl Heap {
    pub const fn new() -> Heap {
        Heap { free: [0; CLASSES], bump: 0, end: 0 }
    }

    /// Starts (or restarts) the region at `start`, with `end` the current
    /// end of usable memory.
    pub fn init(&mut self, start: usize, end: usize) {
        self.free = [0; CLASSES];
        self.bump = (start + 15) & !15;
        self.end = end;
    }

    pub fn is_init(&self) -> bool {
        self.bump != 0
    }

    /// The class of a request: `None` when too large.
    fn class_of(size: usize) -> Option<usize> {
        let need = size.checked_add(HEADER)?.max(1 << MIN_SHIFT);
        let shift = usize::BITS - (need - 1).leading_zeros();
        let class = (shift - MIN_SHIFT) as usize;
        if class < CLASSES {
            Some(class)
        } else {
            None
        }
    }

    /// The size of a class's block, header included.
    pub fn block_size(class: usize) -> usize {
        1usize << (class as u32 + MIN_SHIFT)
    }

    /// Room for `size` bytes, or 0. `grow(pages)` must add that many 64 KiB
    /// pages at the current end and say whether it could.
    ///
    /// # Safety
    /// `[bump, end)` and whatever `grow` adds must be memory this heap owns.
    pub unsafe fn alloc(&mut self, size: usize, grow: &mut dyn FnMut(usize) -> bool) -> usize {
        let class = match Self::class_of(size) {
            Some(c) => c,
            None => return 0,
        };
        let block = if self.free[class] != 0 {
            let b = self.free[class];
            self.free[class] = *((b + HEADER) as *const usize);
            b
        } else {
            let bsize = Self::block_size(class);
            let top = match self.bump.checked_add(bsize) {
                Some(t) => t,
                None => return 0,
            };
            if top > self.end {
                let pages = (top - self.end + PAGE - 1) / PAGE;
                if !grow(pages) {
                    return 0;
                }
                self.end += pages * PAGE;
            }
            let b = self.bump;
            self.bump = top;
            b
        };
        *(block as *mut usize) = class;
        block + HEADER
    }

    /// Gives back a pointer from `alloc` (0 is ignored). A pointer whose
    /// header is not a class (a wild or double-freed pointer, most likely)
    /// traps on wasm32 rather than corrupting the lists.
    ///
    /// # Safety
    /// `ptr` must come from this heap's `alloc` and not be freed already.
    pub unsafe fn free(&mut self, ptr: usize) {
        if ptr == 0 {
            return;
        }
        let block = ptr - HEADER;
        let class = *(block as *const usize);
        if class >= CLASSES {
            crate::trap();
        }
        *(ptr as *mut usize) = self.free[class];
        self.free[class] = block;
    }

    /// The usable size of an allocated pointer (its block minus the header).
    ///
    /// # Safety
    /// `ptr` must be a live pointer from this heap.
    pub unsafe fn usable_size(ptr: usize) -> usize {
        Self::block_size(*((ptr - HEADER) as *const usize)) - HEADER
    }
}

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::{Heap, PAGE};
    use core::alloc::{GlobalAlloc, Layout};
    use core::arch::wasm32;
    use core::cell::UnsafeCell;

    extern "C" {
        static __heap_base: u8;
    }

    /// The module's heap over its linear memory.
    pub struct WasmHeap(UnsafeCell<Heap>);

    // wasm32 instances are single-threaded
    unsafe impl Sync for WasmHeap {}

    #[cfg_attr(feature = "global-allocator", global_allocator)]
    pub static HEAP: WasmHeap = WasmHeap(UnsafeCell::new(Heap::new()));

    fn grow(pages: usize) -> bool {
        wasm32::memory_grow(0, pages) != usize::MAX
    }

    impl WasmHeap {
        /// Room for `size` bytes, 8-byte aligned, or null.
        pub fn alloc(&self, size: usize) -> *mut u8 {
            unsafe {
                let h = &mut *self.0.get();
                if !h.is_init() {
                    h.init(&__heap_base as *const u8 as usize, wasm32::memory_size(0) * PAGE);
                }
                h.alloc(size, &mut grow) as *mut u8
            }
        }

        /// Frees a pointer from `alloc` (null is ignored).
        ///
        /// # Safety
        /// `ptr` must come from `alloc` and not be freed already.
        pub unsafe fn free(&self, ptr: *mut u8) {
            (*self.0.get()).free(ptr as usize)
        }
    }

    unsafe impl GlobalAlloc for WasmHeap {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() > 8 {
                return core::ptr::null_mut();
            }
            WasmHeap::alloc(self, layout.size())
        }

        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            self.free(ptr)
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if new_size <= Heap::usable_size(ptr as usize) {
                return ptr;
            }
            let p = GlobalAlloc::alloc(self, Layout::from_size_align_unchecked(new_size, layout.align()));
            if !p.is_null() {
                core::ptr::copy_nonoverlapping(ptr, p, layout.size());
                self.free(ptr);
            }
            p
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub use wasm::{WasmHeap, HEAP};
