mod finding;
mod project;
mod rust_source;
mod sql_tables;
mod text_position;
