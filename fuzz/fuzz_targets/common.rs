//! The known-answer inputs of docs/protocol.md, shared by the targets.
#![allow(dead_code)]

/// The join key K = 0x00..0x1f.
pub const K: [u8; 32] = seq(0x00);
/// S's private key = 0x20..0x3f.
pub const S_PRIV: [u8; 32] = seq(0x20);
/// The client's ephemeral private key = 0x40..0x5f.
pub const E_C_PRIV: [u8; 32] = seq(0x40);
/// The server's ephemeral private key = 0x60..0x7f.
pub const E_S_PRIV: [u8; 32] = seq(0x60);
/// r_c = 0x80..0x9f.
pub const R_C: [u8; 32] = seq(0x80);
/// r_s = 0xa0..0xbf.
pub const R_S: [u8; 32] = seq(0xa0);

pub const KAT_HELLO: &str = "434841540101de8eda2b0e1890ae79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
pub const KAT_CHALLENGE: &str = "434841540201675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf6e719c613b55b7751e9788c8d725b67c";
pub const KAT_TH: &str = "c0547e51a88350df3eed9cef56e6b1be741195b6dba8658f5dc75da6fe95a4dc";
pub const KAT_K_C2S: &str = "d0f1dc4387dedae00ed8d39007d5c62fb7200cc1f1f59d5bd4ac06ecb74dc3e0";

const fn seq(start: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = start + i as u8;
        i += 1;
    }
    out
}

pub fn hex(text: &str) -> Vec<u8> {
    chat_protocol::hex::decode(text).expect("valid hex")
}
