//! Avatars: upload real PNG/JPEG files, check what the server serves back, and refuse what it
//! must refuse (non-images, oversize bodies, decompression bombs).

use std::io::Cursor;

use crate::common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use parley_signal::Limits;

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Pseudo-random pixels: incompressible, so the PNG is about 3 bytes a pixel.
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let image = RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        Rgb([r, g, b])
    });
    encode(DynamicImage::ImageRgb8(image), ImageFormat::Png)
}

fn gradient_jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    encode(DynamicImage::ImageRgb8(image), ImageFormat::Jpeg)
}

fn flat_png(width: u32, height: u32) -> Vec<u8> {
    encode(
        DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, Rgb([10, 200, 30]))),
        ImageFormat::Png,
    )
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
    chunk
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Writes bits least-significant first, as deflate does.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    len: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.len;
        self.len += count;
        while self.len >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.len -= 8;
        }
    }

    /// Huffman codes go most-significant bit first.
    fn code(&mut self, code: u32, count: u32) {
        let reversed = code.reverse_bits() >> (32 - count);
        self.put(reversed, count);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A valid 8-bit greyscale PNG of `width`×`height` black pixels, compressed as one deflate
/// block of maximal back-references: a real decompression bomb (20000×20000 is 400 MB of pixels
/// in 2.4 MB).
fn black_png(width: u32, height: u32) -> Vec<u8> {
    // Each row: filter byte 0 then `width` zero bytes; all of it zeros.
    let total = u64::from(height) * (1 + u64::from(width));
    let mut bits = Bits::default();
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0b0011_0000, 8); // literal 0
    let mut left = total - 1;
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length 258 (code 285)
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0b0011_0000, 8);
    }
    bits.code(0, 7); // end of block
    let mut zlib = vec![0x78, 0x01];
    zlib.extend(bits.finish());
    // Adler-32 of zeros: a stays 1, b adds 1 per byte.
    let adler = ((total % 65_521) as u32) << 16 | 1;
    zlib.extend_from_slice(&adler.to_be_bytes());

    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = PNG_SIGNATURE.to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &zlib));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// Inserts a tEXt chunk right after IHDR (metadata the server must not pass on).
fn with_text_chunk(png: &[u8], text: &str) -> Vec<u8> {
    assert_eq!(&png[..8], PNG_SIGNATURE);
    let ihdr_end = 8 + 4 + 4 + 13 + 4;
    let mut data = b"Comment\0".to_vec();
    data.extend_from_slice(text.as_bytes());
    let mut out = png[..ihdr_end].to_vec();
    out.extend(png_chunk(b"tEXt", &data));
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

async fn fetch_avatar(server: &TestServer, avatar_url: &serde_json::Value) -> Resp {
    let path = avatar_url.as_str().expect("avatar_url set");
    let resp = server.get(path, None).await;
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    resp
}

fn content_type(resp: &Resp) -> &str {
    resp.headers.get("content-type").unwrap().to_str().unwrap()
}

#[tokio::test]
async fn png_and_jpeg_avatars_are_scaled_and_reencoded() {
    let server = start().await;
    let hana = server.register_as("hana").await;

    // A photo-like PNG bigger than the JSON body limit (16 KiB): the avatar route has its own.
    let original = noise_png(400, 200);
    assert!(original.len() > 100_000);
    let user = server
        .put_avatar(&hana.token, "image/png", original.clone())
        .await
        .expect(200);
    let url = format!("/api/v1/users/{}/avatar?v=1", hana.id());
    assert_eq!(user["avatar_url"], url.as_str());
    assert_eq!(server.me(&hana.token).await.expect(200)["avatar_url"], url.as_str());
    let served = fetch_avatar(&server, &user["avatar_url"]).await;
    assert_eq!(content_type(&served), "image/jpeg", "opaque images become JPEG");
    assert_eq!(served.headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_ne!(served.body, original);
    let decoded = image::load_from_memory_with_format(&served.body, ImageFormat::Jpeg).expect("served JPEG decodes");
    assert_eq!((decoded.width(), decoded.height()), (256, 128), "scaled to fit 256×256");

    // A JPEG in portrait: the long side becomes 256, the aspect ratio stays.
    let original = gradient_jpeg(300, 500);
    let user = server
        .put_avatar(&hana.token, "image/jpeg", original.clone())
        .await
        .expect(200);
    assert_eq!(
        user["avatar_url"],
        format!("/api/v1/users/{}/avatar?v=2", hana.id()).as_str(),
        "the URL changes with every avatar"
    );
    let served = fetch_avatar(&server, &user["avatar_url"]).await;
    assert_eq!(content_type(&served), "image/jpeg");
    assert_ne!(served.body, original);
    let decoded = image::load_from_memory(&served.body).unwrap();
    assert_eq!(decoded.height(), 256);
    assert!((153..=154).contains(&decoded.width()), "width {}", decoded.width());

    // A small transparent PNG keeps its size and alpha, and loses its metadata.
    let transparent = encode(
        DynamicImage::ImageRgba8(RgbaImage::from_pixel(40, 30, Rgba([0, 0, 255, 100]))),
        ImageFormat::Png,
    );
    let original = with_text_chunk(&transparent, "gps=48.85,2.35 secret-comment");
    assert!(image::load_from_memory(&original).is_ok(), "crafted PNG is valid");
    let user = server
        .put_avatar(&hana.token, "image/png", original.clone())
        .await
        .expect(200);
    let served = fetch_avatar(&server, &user["avatar_url"]).await;
    assert_eq!(content_type(&served), "image/png", "transparency keeps PNG");
    assert_ne!(served.body, original);
    assert!(
        !served.body.windows(14).any(|w| w == b"secret-comment"),
        "metadata survived re-encoding"
    );
    let decoded = image::load_from_memory_with_format(&served.body, ImageFormat::Png).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (40, 30),
        "small images are not upscaled"
    );
    assert!(decoded.color().has_alpha());
    assert_eq!(decoded.to_rgba8().get_pixel(0, 0)[3], 100);
}

#[tokio::test]
async fn non_images_and_broken_images_are_refused() {
    let server = start().await;
    let ivan = server.register_as("ivan").await;
    for body in [b"hello, not an image".to_vec(), Vec::new(), b"<svg></svg>".to_vec()] {
        server
            .put_avatar(&ivan.token, "image/png", body)
            .await
            .expect_error(415, "unsupported_media_type");
    }
    let mut truncated = flat_png(64, 64);
    truncated.truncate(60);
    server
        .put_avatar(&ivan.token, "image/png", truncated)
        .await
        .expect_invalid("avatar");
    // Nothing was stored.
    assert_eq!(
        server.me(&ivan.token).await.expect(200)["avatar_url"],
        serde_json::Value::Null
    );
    server
        .get(&format!("/api/v1/users/{}/avatar", ivan.id()), None)
        .await
        .expect_error(404, "not_found");
    // Uploading needs a session.
    let resp = server
        .send(
            server
                .http
                .put(server.url("/api/v1/me/avatar"))
                .header("content-type", "image/png")
                .body(flat_png(8, 8)),
        )
        .await;
    resp.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn oversize_bodies_are_413() {
    let server = start_limits(Limits {
        avatar_bytes: 20_000,
        ..Limits::default()
    })
    .await;
    let jack = server.register_as("jack").await;
    let big = noise_png(100, 100);
    assert!(big.len() > 20_000);
    server
        .put_avatar(&jack.token, "image/png", big)
        .await
        .expect_error(413, "payload_too_large");
    // Within the limit, fine.
    let small = flat_png(300, 300);
    assert!(small.len() < 20_000);
    server.put_avatar(&jack.token, "image/png", small).await.expect(200);
}

#[test]
fn black_png_is_a_valid_png() {
    let decoded = image::load_from_memory_with_format(&black_png(300, 77), ImageFormat::Png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (300, 77));
    assert!(decoded.to_luma8().pixels().all(|p| p[0] == 0));
}

#[tokio::test]
async fn decompression_bombs_are_413() {
    let server = start().await;
    let lena = server.register_as("lena").await;
    // 400 and 100 megapixels (over the 40 MP default), and one side over the decoder's bound.
    for (width, height) in [(20_000, 20_000), (10_000, 10_000), (20_000, 1)] {
        let bomb = black_png(width, height);
        assert!(bomb.len() < 5 * 1024 * 1024, "the bomb must pass the byte limit");
        let resp = server.put_avatar(&lena.token, "image/png", bomb).await;
        resp.expect_error(413, "payload_too_large");
    }
    assert_eq!(
        server.me(&lena.token).await.expect(200)["avatar_url"],
        serde_json::Value::Null
    );
    // The same kind of file at a sane size is accepted.
    let user = server
        .put_avatar(&lena.token, "image/png", black_png(512, 512))
        .await
        .expect(200);
    let served = fetch_avatar(&server, &user["avatar_url"]).await;
    let decoded = image::load_from_memory(&served.body).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 256));
}

#[tokio::test]
async fn avatar_pixel_limit_is_configurable() {
    let server = start_limits(Limits {
        avatar_max_pixels: 5_000,
        ..Limits::default()
    })
    .await;
    let kate = server.register_as("kate").await;
    let resp = server.put_avatar(&kate.token, "image/png", flat_png(100, 100)).await;
    resp.expect_error(413, "payload_too_large");
    server
        .put_avatar(&kate.token, "image/png", flat_png(70, 70))
        .await
        .expect(200);
}

#[tokio::test]
async fn avatar_of_unknown_user_is_404() {
    let server = start().await;
    for id in ["0123456789abcdef0123456789abcdef", "nobody", &"x".repeat(65)] {
        server
            .get(&format!("/api/v1/users/{id}/avatar"), None)
            .await
            .expect_error(404, "not_found");
    }
}
