//! Keys written by nested commands (a script's `redis.call`, a custom command's
//! calls) while some client was blocked: the command around them serves those keys'
//! waiters afterwards, as after any write. Per thread, since a nested command runs on
//! the thread of the command around it.

use std::cell::RefCell;

thread_local! {
    static WRITTEN: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Records the keys a nested command wrote.
pub fn note_written<'k>(keys: impl Iterator<Item = &'k [u8]>) {
    WRITTEN.with(|w| w.borrow_mut().extend(keys.map(<[u8]>::to_vec)));
}

/// The keys nested commands wrote since the last call (the wake-up stage).
pub fn take_written() -> Vec<Vec<u8>> {
    WRITTEN.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Keeps the recorded keys for which `keep` says true (the others were handed on).
pub fn retain_written(keep: impl FnMut(&Vec<u8>) -> bool) {
    WRITTEN.with(|w| w.borrow_mut().retain(keep));
}
