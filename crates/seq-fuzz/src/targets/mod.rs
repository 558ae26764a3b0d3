//! The fuzz targets, one module each: a corpus generator, a check and a budget.

pub mod append_effect;
pub mod args;
pub mod decoder;
pub mod del_effect;
