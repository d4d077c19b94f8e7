//! Panics converz catches and says as errors, kept off stderr.
//!
//! arrow-rs asserts on some layouts a foreign exporter hands over ([`super::push`]); converz
//! catches that panic and raises an `InvalidParameterError` that quotes it. The default panic
//! hook would still print "thread '…' panicked at …" to stderr first, which reads as a crash
//! beside an error the caller handled (outside trial 30b F11). Panics anywhere else still reach
//! the hook that was installed before ours.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`catch_quietly`].
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Runs `f` as `catch_unwind` does; a panic inside it is returned, not printed.
pub fn catch_quietly<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn Any + Send>> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = CATCHING.with(|catching| catching.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|catching| catching.set(outer));
    result
}

/// What a caught panic said, if it said it in text.
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_returned_with_its_message() {
        let caught = catch_quietly(|| -> u8 { panic!("layout {}", 7) }).unwrap_err();
        assert_eq!(panic_message(caught.as_ref()), "layout 7");
        assert_eq!(catch_quietly(|| 3).unwrap(), 3);
        // Nested: the inner catch leaves the outer one catching.
        let outer = catch_quietly(|| {
            let _ = catch_quietly(|| panic!("inner"));
            CATCHING.with(Cell::get)
        });
        assert!(outer.unwrap());
        assert!(!CATCHING.with(Cell::get));
    }
}
