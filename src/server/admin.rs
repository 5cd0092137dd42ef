//! Answers to admin questions (four-letter words and the admin HTTP endpoints), computed from
//! the core's state.

use super::core::Core;

impl Core {
    /// The text answer to a four-letter word.
    pub(super) fn admin_text(&mut self, command: &str) -> String {
        match command {
            "ruok" => "imok".to_string(),
            "isro" => "rw".to_string(),
            _ => String::new(),
        }
    }
}
