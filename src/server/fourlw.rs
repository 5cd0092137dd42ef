//! Four-letter words (being written).
