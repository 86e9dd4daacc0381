//! The fuzz corpus (`fuzz/corpus/rules`) as a normal test, plus random mutations of it:
//! compiling and evaluating rules never panics, whatever the input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use std::path::PathBuf;
use vafa_core::rules::fuzz::compile_and_evaluate;

fn corpus() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/rules");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Rule evaluation recurses; run on a stack the size of a tokio worker's (2 MiB).
fn on_worker_stack(input: Vec<u8>) {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || compile_and_evaluate(&input))
        .unwrap()
        .join()
        .expect("compile_and_evaluate panicked");
}

#[test]
fn every_corpus_entry_compiles_and_evaluates_without_panicking() {
    let corpus = corpus();
    assert!(corpus.len() >= 50, "the corpus is in fuzz/corpus/rules");
    for input in corpus {
        on_worker_stack(input);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_corpus_entries_never_panic(
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        insert in prop::collection::vec(any::<u8>(), 0..8),
        op in 0..3u8,
    ) {
        let corpus = corpus();
        let mut input = corpus[pick.index(corpus.len())].clone();
        let at = cut.index(input.len() + 1);
        match op {
            0 => input.truncate(at),
            1 => { input.splice(at..at, insert); }
            _ => { let end = (at + insert.len()).min(input.len()); input.splice(at..end, insert); }
        }
        on_worker_stack(input);
    }

    #[test]
    fn cel_shaped_noise_never_panics(s in "[a-z_. ()\\[\\]{}!&|=<>+*/%?:,'\"0-9-]{0,300}") {
        on_worker_stack(s.into_bytes());
    }
}
