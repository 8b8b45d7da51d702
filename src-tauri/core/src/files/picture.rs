//! Pictures (`docs/file-protocol.md`, "Images"): thumbnails for offers and copies for the
//! viewer. Every decode has a cap on width, height and memory, so an image bomb fails fast
//! instead of taking the app down, and the page only ever gets bytes encoded here.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Seek};
use std::path::Path;
use std::time::Duration;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{self, PngEncoder};
use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits, Rgb,
    RgbImage,
};

/// Why a picture gets no thumbnail or preview (it is then shown as a plain file).
#[derive(Debug, thiserror::Error)]
pub(crate) enum PictureError {
    /// The content is not in a format decoded here, whatever the name says.
    #[error("this is not a picture Parley can show")]
    NotAnImage,
    /// Over the size or memory budget for this use (0×0 when the decoder refused before
    /// telling the size).
    #[error("{}", too_large_message(*.width, *.height))]
    TooLarge {
        /// Width the file claims, in pixels.
        width: u32,
        /// Height the file claims, in pixels.
        height: u32,
    },
    /// The decoder gave up on the content.
    #[error("the picture is damaged or incomplete: {0}")]
    Corrupt(String),
    /// Decoding took longer than allowed.
    #[error("the picture took too long to open")]
    TimedOut,
    /// The file could not be read.
    #[error("cannot read the picture: {0}")]
    Io(#[from] std::io::Error),
}

/// [`PictureError::TooLarge`]'s message, without a size the decoder never gave.
fn too_large_message(width: u32, height: u32) -> String {
    if width == 0 || height == 0 {
        "the picture is too large to open safely".to_owned()
    } else {
        format!("the picture is too large to open safely ({width}×{height} pixels)")
    }
}

/// A thumbnail for an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thumbnail {
    /// The original picture's width once turned upright: a display hint for the receiver.
    pub(crate) width: u32,
    /// The original picture's height once turned upright.
    pub(crate) height: u32,
    /// The thumbnail, a JPEG with no metadata (so no location or camera data leaks).
    pub(crate) jpeg: Vec<u8>,
}

/// Longest side of a thumbnail, in pixels.
pub(crate) const THUMB_SIDE: u32 = 400;
/// Largest thumbnail an offer may carry, as base64 characters.
pub(crate) const MAX_THUMB_BASE64: usize = 48 * 1024;
/// Longest side of the copy the viewer shows, in pixels.
pub(crate) const DISPLAY_SIDE: u32 = 2560;
/// How long one decode may run before the picture is shown as a plain file.
pub(crate) const DECODE_TIMEOUT: Duration = Duration::from_secs(10);

/// The thumbnail sides tried, largest first, until the JPEG fits [`MAX_THUMB_BASE64`].
const THUMB_SIDES: [u32; 4] = [THUMB_SIDE, 300, 200, 100];
/// JPEG qualities tried at each thumbnail side, best first.
const THUMB_QUALITIES: [u8; 3] = [80, 65, 50];
/// Quality of a re-encoded peer thumbnail.
const CHECKED_THUMB_QUALITY: u8 = 80;
/// Quality of the viewer's copy of a photo.
const DISPLAY_QUALITY: u8 = 85;

/// Formats decoded at all: the features `image` is built with here.
const DECODABLE: &[ImageFormat] = &[
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::Gif,
    ImageFormat::WebP,
    ImageFormat::Bmp,
];
/// Formats a peer's thumbnail may come in (the protocol says JPEG; the others are harmless).
const THUMBNAIL_FORMATS: &[ImageFormat] = &[ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP];

/// How much one decode may take.
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// Longest side, in pixels.
    max_side: u32,
    /// Memory for the decoder and the decoded pixels, in bytes.
    max_alloc: u64,
}

/// The sender's own picture: generous, so large camera and panorama images get a thumbnail.
const OWN_PICTURE: Budget = Budget {
    max_side: 20_000,
    max_alloc: 768 * 1024 * 1024,
};
/// A thumbnail from a peer: anything bigger than a thumbnail is refused.
const PEER_THUMBNAIL: Budget = Budget {
    max_side: 1024,
    max_alloc: 16 * 1024 * 1024,
};
/// A picture opened in the viewer.
const VIEWER: Budget = Budget {
    max_side: 16_384,
    max_alloc: 512 * 1024 * 1024,
};

/// Makes the thumbnail for a picture we offer (blocking: run it off the runtime). The format is
/// taken from the content, never the name.
pub(crate) fn make_thumbnail(path: &Path) -> Result<Thumbnail, PictureError> {
    let image = decode_file(path, DECODABLE, OWN_PICTURE)?;
    let (width, height) = (image.width(), image.height());
    let largest = flatten_onto_white(&shrink_to_fit(image, THUMB_SIDE));
    for side in THUMB_SIDES {
        let (w, h) = fit(largest.width(), largest.height(), side);
        let scaled;
        let thumb = if (w, h) == largest.dimensions() {
            &largest
        } else {
            scaled = imageops::resize(&largest, w, h, FilterType::Triangle);
            &scaled
        };
        for quality in THUMB_QUALITIES {
            let jpeg = encode_jpeg(thumb, quality)?;
            if base64::encoded_len(jpeg.len(), true).is_some_and(|n| n <= MAX_THUMB_BASE64) {
                tracing::debug!(side, quality, bytes = jpeg.len(), "thumbnail made");
                return Ok(Thumbnail { width, height, jpeg });
            }
        }
    }
    // Not reachable with real JPEG sizes (100×100 pixels stay far below the cap); refusing
    // beats sending an offer the receiver would reject.
    Err(PictureError::TooLarge { width, height })
}

/// Checks a thumbnail a peer sent and returns our own JPEG of it (blocking: run it off the
/// runtime), so the page never parses bytes from the network.
pub(crate) fn check_thumbnail(bytes: &[u8]) -> Result<Vec<u8>, PictureError> {
    let image = decode(
        ImageReader::new(Cursor::new(bytes)),
        bytes.len() as u64,
        THUMBNAIL_FORMATS,
        PEER_THUMBNAIL,
    )?;
    encode_jpeg(&flatten_onto_white(&image), CHECKED_THUMB_QUALITY)
}

/// The copy of a picture the viewer shows, turned upright and no larger than [`DISPLAY_SIDE`]
/// (blocking: run it off the runtime). PNG when it has transparent parts, JPEG otherwise;
/// returns the bytes and their MIME type.
pub(crate) fn display_copy(path: &Path) -> Result<(Vec<u8>, &'static str), PictureError> {
    let image = shrink_to_fit(decode_file(path, DECODABLE, VIEWER)?, DISPLAY_SIDE);
    if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        // Many opaque pictures are stored with an alpha channel; JPEG is far smaller for them.
        if rgba.pixels().any(|p| p.0[3] < u8::MAX) {
            let mut png = Vec::new();
            PngEncoder::new_with_quality(&mut png, png::CompressionType::Fast, png::FilterType::Adaptive)
                .write_image(rgba.as_raw(), rgba.width(), rgba.height(), ExtendedColorType::Rgba8)
                .map_err(encode_failed)?;
            return Ok((png, "image/png"));
        }
    }
    Ok((encode_jpeg(&image.to_rgb8(), DISPLAY_QUALITY)?, "image/jpeg"))
}

/// Runs a blocking decode on tokio's blocking pool and waits at most `timeout` for it. On
/// timeout the task cannot be stopped and finishes unobserved; its memory is bounded by the
/// budget of the decode it runs.
pub(crate) async fn off_runtime<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> Result<T, PictureError> + Send + 'static,
) -> Result<T, PictureError> {
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(result)) => result,
        // A decoder that panics has met input it cannot handle.
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "picture decoding panicked");
            Err(PictureError::Corrupt("the decoder failed".to_owned()))
        }
        Err(_) => Err(PictureError::TimedOut),
    }
}

/// [`decode`] for a file.
fn decode_file(path: &Path, formats: &[ImageFormat], budget: Budget) -> Result<DynamicImage, PictureError> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    decode(ImageReader::new(BufReader::new(file)), len, formats, budget)
}

/// Decodes `input_len` bytes within `budget`, turned upright by its EXIF orientation.
fn decode<R: BufRead + Seek>(
    reader: ImageReader<R>,
    input_len: u64,
    formats: &[ImageFormat],
    budget: Budget,
) -> Result<DynamicImage, PictureError> {
    let mut reader = reader.with_guessed_format()?;
    if !reader.format().is_some_and(|f| formats.contains(&f)) {
        return Err(PictureError::NotAnImage);
    }
    // The JPEG decoder reads the whole input into memory before any limit applies; a file
    // larger than the pixel budget cannot be a picture within it anyway.
    if input_len > budget.max_alloc {
        return Err(PictureError::TooLarge { width: 0, height: 0 });
    }
    // Headers first with only the memory cap, so a refusal can say the size.
    let mut limits = Limits::default();
    limits.max_alloc = Some(budget.max_alloc);
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(|e| decode_failed(e, 0, 0))?;
    let (width, height) = decoder.dimensions();
    let too_large = PictureError::TooLarge { width, height };
    if width > budget.max_side || height > budget.max_side {
        return Err(too_large);
    }
    if width == 0 || height == 0 {
        return Err(PictureError::Corrupt("the picture has no pixels".to_owned()));
    }
    limits.max_image_width = Some(budget.max_side);
    limits.max_image_height = Some(budget.max_side);
    decoder
        .set_limits(limits.clone())
        .map_err(|e| decode_failed(e, width, height))?;
    // `ImageReader::decode` makes this check, `from_decoder` does not: without it the pixel
    // buffer would be allocated whatever its size.
    if limits.reserve(decoder.total_bytes()).is_err() {
        return Err(too_large);
    }
    // A broken EXIF block should not cost the picture, only its rotation.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| decode_failed(e, width, height))?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Sorts a decoder error into what the caller can act on.
fn decode_failed(e: ImageError, width: u32, height: u32) -> PictureError {
    match e {
        ImageError::Limits(_) => PictureError::TooLarge { width, height },
        // A read that ends early is a truncated file, not a failing disk.
        ImageError::IoError(e)
            if !matches!(
                e.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            PictureError::Io(e)
        }
        e => PictureError::Corrupt(e.to_string()),
    }
}

/// Encoding into memory only fails on a bug or an impossible size.
fn encode_failed(e: ImageError) -> PictureError {
    PictureError::Corrupt(format!("could not encode the picture: {e}"))
}

/// `(width, height)` scaled to fit `side`×`side`, keeping the aspect ratio and never enlarging.
fn fit(width: u32, height: u32, side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= side {
        return (width, height);
    }
    let scale = |n: u32| ((u64::from(n) * u64::from(side) + u64::from(longest) / 2) / u64::from(longest)).max(1);
    // At most `side`, so it fits a u32.
    (scale(width) as u32, scale(height) as u32)
}

/// `image` scaled down to fit `side`×`side`, or unchanged when it already fits.
fn shrink_to_fit(image: DynamicImage, side: u32) -> DynamicImage {
    let (w, h) = fit(image.width(), image.height(), side);
    if (w, h) == (image.width(), image.height()) {
        image
    } else {
        image.resize_exact(w, h, FilterType::Triangle)
    }
}

/// RGB for JPEG, which has no transparency: transparent parts show as white, as most viewers
/// draw them.
fn flatten_onto_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, pixel) in rgb.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, a] = pixel.0;
        let over_white = |c: u8| ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8;
        *out = Rgb([over_white(r), over_white(g), over_white(b)]);
    }
    rgb
}

/// A baseline JPEG: `image`'s encoder writes only the JFIF header, no EXIF or other metadata.
fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, PictureError> {
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(image)
        .map_err(encode_failed)?;
    Ok(jpeg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use image::RgbaImage;
    use std::time::Instant;

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    /// A smooth gradient: compresses well, like most photos' thumbnails.
    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
        }))
    }

    /// Random pixels: the worst case for JPEG size.
    fn noise(width: u32, height: u32) -> DynamicImage {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let [r, g, b, ..] = state.to_le_bytes();
            Rgb([r, g, b])
        }))
    }

    fn dimensions_of(bytes: &[u8]) -> (u32, u32, ImageFormat) {
        let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().unwrap();
        let format = reader.format().unwrap();
        let image = reader.decode().unwrap();
        (image.width(), image.height(), format)
    }

    fn has_exif(jpeg: &[u8]) -> bool {
        jpeg.windows(2).any(|w| w == [0xFF, 0xE1]) || jpeg.windows(4).any(|w| w == b"Exif")
    }

    /// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
    fn rotated_jpeg(width: u32, height: u32) -> Vec<u8> {
        let jpeg = encoded(&gradient(width, height), ImageFormat::Jpeg);
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"MM\0\x2A\0\0\0\x08"); // big-endian TIFF, first IFD at 8
        tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
        tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_be_bytes()); // one value
        tiff.extend_from_slice(&[0, 6, 0, 0]); // 6, left-aligned in the 4-byte field
        tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
        let mut app1 = vec![0xFF, 0xE1];
        app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
        app1.extend_from_slice(b"Exif\0\0");
        app1.extend_from_slice(&tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
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

    /// A tiny PNG whose header claims `width`×`height` (with a valid CRC, so only the size is a lie).
    fn bomb_png(width: u32, height: u32) -> Vec<u8> {
        let mut png = encoded(&gradient(4, 4), ImageFormat::Png);
        assert_eq!(&png[12..16], b"IHDR");
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    }

    #[test]
    fn thumbnails_of_small_pictures_keep_their_size() {
        for format in [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Gif,
            ImageFormat::Bmp,
            ImageFormat::WebP,
        ] {
            let file = write_temp(&encoded(&gradient(120, 80), format));
            let thumb = make_thumbnail(file.path()).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!((thumb.width, thumb.height), (120, 80));
            assert_eq!(dimensions_of(&thumb.jpeg), (120, 80, ImageFormat::Jpeg), "{format:?}");
        }
    }

    #[test]
    fn thumbnails_scale_to_fit_keeping_the_aspect() {
        let file = write_temp(&encoded(&gradient(1000, 250), ImageFormat::Png));
        let thumb = make_thumbnail(file.path()).unwrap();
        assert_eq!((thumb.width, thumb.height), (1000, 250));
        assert_eq!(dimensions_of(&thumb.jpeg), (400, 100, ImageFormat::Jpeg));
    }

    #[test]
    fn the_format_comes_from_the_content() {
        let file = tempfile::Builder::new().suffix(".gif").tempfile().unwrap();
        std::fs::write(file.path(), encoded(&gradient(50, 60), ImageFormat::Png)).unwrap();
        let thumb = make_thumbnail(file.path()).unwrap();
        assert_eq!((thumb.width, thumb.height), (50, 60));
    }

    #[test]
    fn exif_orientation_is_applied_and_not_passed_on() {
        let jpeg = rotated_jpeg(40, 20);
        assert!(has_exif(&jpeg));
        let file = write_temp(&jpeg);
        let thumb = make_thumbnail(file.path()).unwrap();
        assert_eq!((thumb.width, thumb.height), (20, 40));
        assert_eq!(dimensions_of(&thumb.jpeg), (20, 40, ImageFormat::Jpeg));
        assert!(!has_exif(&thumb.jpeg));

        let (copy, mime) = display_copy(file.path()).unwrap();
        assert_eq!(mime, "image/jpeg");
        assert_eq!(dimensions_of(&copy), (20, 40, ImageFormat::Jpeg));
        assert!(!has_exif(&copy));
    }

    #[test]
    fn transparency_becomes_white() {
        let image = DynamicImage::ImageRgba8(RgbaImage::from_fn(10, 10, |x, _| {
            if x < 5 {
                image::Rgba([0, 0, 0, 0])
            } else {
                image::Rgba([0, 0, 0, 255])
            }
        }));
        let file = write_temp(&encoded(&image, ImageFormat::Png));
        let thumb = make_thumbnail(file.path()).unwrap();
        let decoded = image::load_from_memory(&thumb.jpeg).unwrap().to_rgb8();
        assert!(decoded.get_pixel(0, 5).0.iter().all(|&c| c > 230));
        assert!(decoded.get_pixel(9, 5).0.iter().all(|&c| c < 25));
    }

    #[test]
    fn a_decompression_bomb_is_refused_quickly() {
        let start = Instant::now();
        let file = write_temp(&bomb_png(100_000, 100_000));
        for result in [
            make_thumbnail(file.path()).map(|_| ()),
            display_copy(file.path()).map(|_| ()),
        ] {
            assert!(
                matches!(
                    result,
                    Err(PictureError::TooLarge {
                        width: 100_000,
                        height: 100_000
                    })
                ),
                "{result:?}"
            );
        }
        assert!(matches!(
            check_thumbnail(&bomb_png(100_000, 100_000)),
            Err(PictureError::TooLarge { .. })
        ));
        // Within the side limits but over the memory budget: refused before allocating.
        let file = write_temp(&bomb_png(16_000, 16_000));
        let result = display_copy(file.path());
        assert!(
            matches!(
                result,
                Err(PictureError::TooLarge {
                    width: 16_000,
                    height: 16_000
                })
            ),
            "{result:?}"
        );
        let file = write_temp(&bomb_png(20_000, 20_000));
        let result = make_thumbnail(file.path());
        assert!(
            matches!(
                result,
                Err(PictureError::TooLarge {
                    width: 20_000,
                    height: 20_000
                })
            ),
            "{result:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    }

    #[test]
    fn a_file_larger_than_the_budget_is_not_read() {
        // Sparse where the file system allows: no disk or memory is spent on it.
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), b"\xFF\xD8\xFF\xE0").unwrap();
        file.as_file().set_len(VIEWER.max_alloc + 1).unwrap();
        let result = display_copy(file.path());
        assert!(
            matches!(result, Err(PictureError::TooLarge { width: 0, height: 0 })),
            "{result:?}"
        );
        let mut big = vec![0; PEER_THUMBNAIL.max_alloc as usize + 1];
        big[..4].copy_from_slice(b"\xFF\xD8\xFF\xE0");
        assert!(matches!(check_thumbnail(&big), Err(PictureError::TooLarge { .. })));
    }

    #[test]
    fn a_plausible_size_with_missing_data_is_corrupt() {
        let file = write_temp(&bomb_png(2000, 2000));
        let result = make_thumbnail(file.path());
        assert!(matches!(result, Err(PictureError::Corrupt(_))), "{result:?}");
    }

    #[test]
    fn truncated_or_garbled_jpegs_are_corrupt() {
        let jpeg = encoded(&noise(200, 200), ImageFormat::Jpeg);
        for broken in [jpeg[..40].to_vec(), [&jpeg[..3], &[0x00; 64][..]].concat()] {
            let file = write_temp(&broken);
            let result = make_thumbnail(file.path());
            assert!(matches!(result, Err(PictureError::Corrupt(_))), "{result:?}");
            assert!(matches!(check_thumbnail(&broken), Err(PictureError::Corrupt(_))));
        }
        // Cut in the middle of the pixel data: decoders may fill the rest in, or refuse.
        let file = write_temp(&jpeg[..jpeg.len() / 2]);
        match make_thumbnail(file.path()) {
            Ok(thumb) => assert_eq!((thumb.width, thumb.height), (200, 200)),
            Err(e) => assert!(matches!(e, PictureError::Corrupt(_)), "{e:?}"),
        }
    }

    #[test]
    fn other_files_are_not_images() {
        let file = write_temp(b"just some text, not a picture\n");
        assert!(matches!(make_thumbnail(file.path()), Err(PictureError::NotAnImage)));
        assert!(matches!(display_copy(file.path()), Err(PictureError::NotAnImage)));
        assert!(matches!(check_thumbnail(b""), Err(PictureError::NotAnImage)));
        // Recognized but not built in here.
        let file = write_temp(b"II*\0\x08\0\0\0 tiff-ish");
        assert!(matches!(make_thumbnail(file.path()), Err(PictureError::NotAnImage)));
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            make_thumbnail(&dir.path().join("gone.png")),
            Err(PictureError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound
        ));
    }

    #[test]
    fn large_noisy_pictures_still_fit_the_offer() {
        // BMP: the test's own encoding and decoding stay quick in debug builds.
        let file = write_temp(&encoded(&noise(3000, 2000), ImageFormat::Bmp));
        let thumb = make_thumbnail(file.path()).unwrap();
        assert_eq!((thumb.width, thumb.height), (3000, 2000));
        let base64 = base64::engine::general_purpose::STANDARD.encode(&thumb.jpeg);
        assert!(base64.len() <= MAX_THUMB_BASE64, "{} base64 bytes", base64.len());
        let (w, h, format) = dimensions_of(&thumb.jpeg);
        assert_eq!(format, ImageFormat::Jpeg);
        assert!(w <= THUMB_SIDE && h <= THUMB_SIDE, "{w}×{h}");
        assert!(w >= 100 && (w as f64 / h as f64 - 1.5).abs() < 0.02, "{w}×{h}");
    }

    #[test]
    fn peer_thumbnails_are_checked_and_reencoded() {
        let jpeg = encoded(&gradient(300, 200), ImageFormat::Jpeg);
        let checked = check_thumbnail(&jpeg).unwrap();
        assert_eq!(dimensions_of(&checked), (300, 200, ImageFormat::Jpeg));

        let png = encoded(&gradient(300, 200), ImageFormat::Png);
        assert_eq!(
            dimensions_of(&check_thumbnail(&png).unwrap()),
            (300, 200, ImageFormat::Jpeg)
        );

        let exif = rotated_jpeg(30, 10);
        let checked = check_thumbnail(&exif).unwrap();
        assert_eq!(dimensions_of(&checked), (10, 30, ImageFormat::Jpeg));
        assert!(!has_exif(&checked));

        let strip = encoded(&gradient(4000, 10), ImageFormat::Png);
        assert!(matches!(
            check_thumbnail(&strip),
            Err(PictureError::TooLarge {
                width: 4000,
                height: 10
            })
        ));
        // Formats a thumbnail never comes in.
        let gif = encoded(&gradient(30, 20), ImageFormat::Gif);
        assert!(matches!(check_thumbnail(&gif), Err(PictureError::NotAnImage)));
    }

    #[test]
    fn display_copies_fit_the_viewer() {
        let file = write_temp(&encoded(&gradient(3000, 2000), ImageFormat::Bmp));
        let (copy, mime) = display_copy(file.path()).unwrap();
        assert_eq!(mime, "image/jpeg");
        assert_eq!(dimensions_of(&copy), (DISPLAY_SIDE, 1707, ImageFormat::Jpeg));

        let small = write_temp(&encoded(&gradient(640, 480), ImageFormat::Bmp));
        let (copy, mime) = display_copy(small.path()).unwrap();
        assert_eq!(mime, "image/jpeg");
        assert_eq!(dimensions_of(&copy), (640, 480, ImageFormat::Jpeg));
    }

    #[test]
    fn display_copies_keep_transparency() {
        let translucent = DynamicImage::ImageRgba8(RgbaImage::from_pixel(50, 40, image::Rgba([10, 20, 30, 128])));
        let file = write_temp(&encoded(&translucent, ImageFormat::Png));
        let (copy, mime) = display_copy(file.path()).unwrap();
        assert_eq!(mime, "image/png");
        assert_eq!(dimensions_of(&copy), (50, 40, ImageFormat::Png));
        assert_eq!(
            image::load_from_memory(&copy).unwrap().to_rgba8().get_pixel(3, 3).0,
            [10, 20, 30, 128]
        );

        let opaque = DynamicImage::ImageRgba8(RgbaImage::from_pixel(50, 40, image::Rgba([10, 20, 30, 255])));
        let file = write_temp(&encoded(&opaque, ImageFormat::Png));
        assert_eq!(display_copy(file.path()).unwrap().1, "image/jpeg");
    }

    #[test]
    fn fitting() {
        assert_eq!(fit(100, 50, 400), (100, 50));
        assert_eq!(fit(400, 400, 400), (400, 400));
        assert_eq!(fit(800, 400, 400), (400, 200));
        assert_eq!(fit(3000, 2000, 2560), (2560, 1707));
        assert_eq!(fit(20_000, 1, 400), (400, 1));
        assert_eq!(fit(1, 20_000, 400), (1, 400));
    }

    #[test]
    fn messages_read_well() {
        assert_eq!(
            PictureError::TooLarge {
                width: 4000,
                height: 10
            }
            .to_string(),
            "the picture is too large to open safely (4000×10 pixels)"
        );
        assert_eq!(
            PictureError::TooLarge { width: 0, height: 0 }.to_string(),
            "the picture is too large to open safely"
        );
    }

    #[tokio::test]
    async fn decoding_off_the_runtime_times_out() {
        let result = off_runtime(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_millis(500));
            Ok(())
        })
        .await;
        assert!(matches!(result, Err(PictureError::TimedOut)));

        let jpeg = encoded(&gradient(30, 20), ImageFormat::Jpeg);
        let checked = off_runtime(DECODE_TIMEOUT, move || check_thumbnail(&jpeg))
            .await
            .unwrap();
        assert_eq!(dimensions_of(&checked).0, 30);

        let failed = off_runtime(DECODE_TIMEOUT, || check_thumbnail(b"nope")).await;
        assert!(matches!(failed, Err(PictureError::NotAnImage)));
    }

    #[tokio::test]
    async fn a_panicking_decoder_is_corrupt() {
        let result: Result<(), _> = off_runtime(DECODE_TIMEOUT, || panic!("decoder bug")).await;
        assert!(matches!(result, Err(PictureError::Corrupt(_))));
    }
}
