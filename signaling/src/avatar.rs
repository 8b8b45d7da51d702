//! Avatar processing: decode whatever image arrives, refuse what isn't one or would decode to
//! an enormous bitmap, scale to fit 256×256 and re-encode. Re-encoding from pixels drops every
//! byte of the original file (EXIF location, comments, polyglot payloads).

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader};

pub const MAX_SIDE: u32 = 256;
/// Decoders refuse images whose declared side exceeds this, before allocating anything.
const MAX_DECLARED_SIDE: u32 = 16_384;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AvatarError {
    #[error("the upload is not an image in a supported format (PNG, JPEG, GIF, WebP, BMP)")]
    NotAnImage,
    #[error("the image is {width}×{height} pixels; the most accepted is {max_pixels} pixels in all")]
    TooManyPixels { width: u32, height: u32, max_pixels: u64 },
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
}

pub struct Processed {
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, AvatarError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| AvatarError::NotAnImage)?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP | ImageFormat::Bmp) => {
            Ok(reader)
        }
        _ => Err(AvatarError::NotAnImage),
    }
}

pub fn process(bytes: &[u8], max_pixels: u64) -> Result<Processed, AvatarError> {
    // Headers first: a tiny file can declare a gigapixel canvas.
    let (width, height) = reader(bytes)?
        .into_dimensions()
        .map_err(|e| AvatarError::Corrupt(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(AvatarError::Corrupt("the image has no pixels".into()));
    }
    if u64::from(width) * u64::from(height) > max_pixels || width > MAX_DECLARED_SIDE || height > MAX_DECLARED_SIDE {
        return Err(AvatarError::TooManyPixels {
            width,
            height,
            max_pixels,
        });
    }
    let mut reader = reader(bytes)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECLARED_SIDE);
    limits.max_image_height = Some(MAX_DECLARED_SIDE);
    limits.max_alloc = Some(max_pixels.saturating_mul(8));
    reader.limits(limits);
    let image = reader.decode().map_err(|e| AvatarError::Corrupt(e.to_string()))?;
    let image = if image.width() > MAX_SIDE || image.height() > MAX_SIDE {
        image.resize(MAX_SIDE, MAX_SIDE, FilterType::Lanczos3)
    } else {
        image
    };
    encode(image)
}

/// PNG where there is transparency to keep, JPEG otherwise (a tenth of the size for photos).
fn encode(image: DynamicImage) -> Result<Processed, AvatarError> {
    let mut out = Cursor::new(Vec::new());
    let (format, content_type, image) = if image.color().has_alpha() {
        (
            ImageFormat::Png,
            "image/png",
            DynamicImage::ImageRgba8(image.into_rgba8()),
        )
    } else {
        (
            ImageFormat::Jpeg,
            "image/jpeg",
            DynamicImage::ImageRgb8(image.into_rgb8()),
        )
    };
    image
        .write_to(&mut out, format)
        .map_err(|e| AvatarError::Corrupt(e.to_string()))?;
    Ok(Processed {
        content_type,
        data: out.into_inner(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(width, height, Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn scales_large_images_keeping_aspect() {
        let out = process(&png(1024, 512), 40_000_000).unwrap();
        assert_eq!(out.content_type, "image/jpeg");
        let decoded = image::load_from_memory(&out.data).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (256, 128));
    }

    #[test]
    fn keeps_small_images_and_transparency() {
        let img = RgbaImage::from_pixel(40, 30, Rgba([0, 0, 0, 0]));
        let mut buf = Cursor::new(Vec::new());
        img.write_to(&mut buf, ImageFormat::Png).unwrap();
        let out = process(&buf.into_inner(), 40_000_000).unwrap();
        assert_eq!(out.content_type, "image/png");
        let decoded = image::load_from_memory(&out.data).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 30));
    }

    #[test]
    fn refuses_non_images_and_bombs() {
        assert_eq!(
            process(b"hello, not an image", 1000).err(),
            Some(AvatarError::NotAnImage)
        );
        assert_eq!(process(b"", 1000).err(), Some(AvatarError::NotAnImage));
        assert!(matches!(
            process(&png(100, 100), 5_000),
            Err(AvatarError::TooManyPixels { .. })
        ));
        let mut truncated = png(64, 64);
        truncated.truncate(60);
        assert!(matches!(process(&truncated, 1_000_000), Err(AvatarError::Corrupt(_))));
    }
}
