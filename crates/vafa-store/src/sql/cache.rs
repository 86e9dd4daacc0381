//! Programs, kept in memory once read: every purchase reads its program (currency,
//! time zone), and programs never change once opened — no statement updates
//! `programs` — so one read serves the life of the process. (API keys are not cached:
//! a revoked key must stop at once, in every process; `lite_read` makes their read
//! cheap instead.)

use crate::Program;
use std::collections::HashMap;
use std::sync::Mutex;

/// Programs held at most; a full cache starts again empty.
const CAPACITY: usize = 4096;

#[derive(Default)]
pub(crate) struct ProgramCache {
    programs: Mutex<HashMap<String, Program>>,
}

impl ProgramCache {
    pub(crate) fn get(&self, id: &str) -> Option<Program> {
        self.programs.lock().ok()?.get(id).cloned()
    }

    pub(crate) fn remember(&self, program: &Program) {
        if let Ok(mut programs) = self.programs.lock() {
            if programs.len() >= CAPACITY {
                programs.clear();
            }
            programs.insert(program.id.clone(), program.clone());
        }
    }
}
