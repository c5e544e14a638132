//! `StrBuf<N>`: a fixed-capacity string on the stack, for building topics
//! and log lines without an allocator.

use core::fmt;

/// Up to `N` bytes of UTF-8. Pushing past the capacity fails and leaves the
/// buffer as it was (`fmt::Write` instead cuts at a character boundary and
/// reports `fmt::Error`, so a long log line is truncated, not lost).
pub struct StrBuf<const N: usize> {
    len: usize,
    bytes: [u8; N],
}

impl<const N: usize> StrBuf<N> {
    pub const fn new() -> Self {
        StrBuf { len: 0, bytes: [0; N] }
    }

    /// Appends all of `s`, or nothing when it does not fit.
    pub fn push_str(&mut self, s: &str) -> Result<(), crate::Error> {
        let end = self.len + s.len();
        if end > N {
            return Err(crate::Error::TooBig);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }

    /// Appends a non-negative integer in decimal.
    pub fn push_u32(&mut self, mut v: u32) -> Result<(), crate::Error> {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        // ASCII digits are UTF-8
        self.push_str(unsafe { core::str::from_utf8_unchecked(&digits[i..]) })
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_str(&self) -> &str {
        // only whole &str values (or their prefixes cut at a char boundary)
        // are ever copied in
        unsafe { core::str::from_utf8_unchecked(&self.bytes[..self.len]) }
    }
}

impl<const N: usize> Default for StrBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for StrBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.push_str(s).is_ok() {
            return Ok(());
        }
        let mut cut = N - self.len;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let _ = self.push_str(&s[..cut]);
        Err(fmt::Error)
    }
}

impl<const N: usize> core::ops::Deref for StrBuf<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}
