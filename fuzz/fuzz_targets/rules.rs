#![no_main]
//! Compile and evaluate arbitrary rule text: must never panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vafa_core::rules::fuzz::compile_and_evaluate(data);
});
