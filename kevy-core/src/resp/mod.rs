//! RESP: the request parser (multibulk and inline) and the reply writer (RESP2/RESP3).

pub mod args;
pub mod float;
pub mod parser;
pub mod reply;
pub mod writer;

pub use args::{ArgSpans, Args, OwnedArgs};
pub use parser::{parse, Limits, Parsed};
pub use reply::Reply;
pub use writer::ReplyWriter;
