//! The client file: what the client needs to prepare inputs and read outputs, written by
//! `mpcc compile` beside the plan as `PLAN.client.json` (and the tokenizer as
//! `PLAN.tokenizer.json`). It holds the task, the labels, the pooling and the tokenizer's
//! file name: public facts of the export (its `config.json`), nothing of the weights.
//!
//! The post-processing it drives (softmax and labels for a classifier, mean or CLS pooling
//! and L2 normalisation for sentence embeddings) runs on the client's revealed output, in the
//! clear: it is a function of the outputs the client learns anyway, so it reveals nothing
//! more than the logits or token embeddings already do.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Format tag of the client file.
pub const CLIENT_FORMAT: &str = "mpcc-client-v1";

/// What the model answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Labels with softmax scores, one per row (`*ForSequenceClassification`).
    TextClassification,
    /// A label per token (`*ForTokenClassification`).
    TokenClassification,
    /// Token embeddings; with `--pool` sentence embeddings (`*Model`, sentence-transformers).
    FeatureExtraction,
    /// Labels with scores for an image (`*ForImageClassification`).
    ImageClassification,
}

impl Task {
    /// The task a Hugging Face `architectures` entry implies.
    pub fn from_architecture(arch: &str) -> Option<Task> {
        if arch.ends_with("ForSequenceClassification") {
            Some(Task::TextClassification)
        } else if arch.ends_with("ForTokenClassification") {
            Some(Task::TokenClassification)
        } else if arch.ends_with("ForImageClassification") {
            Some(Task::ImageClassification)
        } else if arch.ends_with("Model") && !arch.ends_with("LMHeadModel") {
            Some(Task::FeatureExtraction)
        } else {
            None
        }
    }

    /// The name as `--task` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Task::TextClassification => "text-classification",
            Task::TokenClassification => "token-classification",
            Task::FeatureExtraction => "feature-extraction",
            Task::ImageClassification => "image-classification",
        }
    }
}

/// How token embeddings become one sentence embedding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Pool {
    /// The mean over the positions the attention mask keeps (sentence-transformers).
    Mean,
    /// The first token's embedding.
    Cls,
}

/// The client file's contents.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// [`CLIENT_FORMAT`].
    pub format: String,
    /// The task, when known.
    pub task: Option<Task>,
    /// Label names by class index (`config.json`'s `id2label`).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Sentence pooling for feature extraction.
    pub pool: Option<Pool>,
    /// L2-normalise sentence embeddings.
    #[serde(default)]
    pub normalize: bool,
    /// File name of the tokenizer, in the plan's directory.
    pub tokenizer: Option<String>,
    /// How an image becomes pixel values (the export's `preprocessor_config.json`).
    #[serde(default)]
    pub image: Option<ImagePrep>,
    /// A generation plan's facts (`mpcc compile --generate`).
    #[serde(default)]
    pub generate: Option<crate::generate::GenerateInfo>,
}

/// How `mpcc run --image` turns a PNG or JPEG into pixel values, as a Hugging Face image
/// processor (`ViTImageProcessor` and its kin) does: resize (or resize the shorter edge and
/// crop the centre), scale to [0, 1], subtract the mean and divide by the standard deviation
/// per channel, channels first. The output size is always the plan's input size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImagePrep {
    /// Resize (`do_resize`).
    pub resize: bool,
    /// The resampling filter, as PIL numbers it (`resample`: 0 nearest, 1 Lanczos,
    /// 2 bilinear, 3 bicubic).
    pub resample: u32,
    /// Resize the shorter edge to this many pixels, keeping the aspect ratio, then crop the
    /// centre to the plan's size (`size.shortest_edge` with `do_center_crop`).
    pub shortest_edge: Option<usize>,
    /// Multiply by `rescale_factor` (`do_rescale`).
    pub rescale: Option<f64>,
    /// Per-channel mean and standard deviation (`do_normalize`, `image_mean`, `image_std`).
    pub normalize: Option<(Vec<f64>, Vec<f64>)>,
}

impl Default for ImagePrep {
    /// `ViTImageProcessor`'s defaults: bilinear resize, 1/255, mean and std 0.5.
    fn default() -> Self {
        ImagePrep {
            resize: true,
            resample: 2,
            shortest_edge: None,
            rescale: Some(1.0 / 255.0),
            normalize: Some((vec![0.5; 3], vec![0.5; 3])),
        }
    }
}

impl ImagePrep {
    /// Reads a Hugging Face `preprocessor_config.json`; a field it lacks takes
    /// `ViTImageProcessor`'s default.
    pub fn from_file(path: &Path) -> anyhow::Result<ImagePrep> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read '{}': {e}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("'{}' is not JSON: {e}", path.display()))?;
        let d = ImagePrep::default();
        let flag = |k: &str| v[k].as_bool().unwrap_or(true);
        let floats = |k: &str| -> anyhow::Result<Option<Vec<f64>>> {
            match &v[k] {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::Number(n) => Ok(n.as_f64().map(|x| vec![x; 3])),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_f64().ok_or_else(|| {
                            anyhow::anyhow!("'{}': {k} holds a non-number", path.display())
                        })
                    })
                    .collect::<anyhow::Result<Vec<f64>>>()
                    .map(Some),
                _ => anyhow::bail!("'{}': {k} is not a number or a list", path.display()),
            }
        };
        let resample = match v["resample"].as_u64() {
            None => d.resample,
            Some(r @ 0..=3) => r as u32,
            Some(r) => anyhow::bail!(
                "'{}': resample {r} is not one mpcc implements (0 nearest, 1 Lanczos, \
                 2 bilinear, 3 bicubic)",
                path.display()
            ),
        };
        let crop = v["do_center_crop"].as_bool().unwrap_or(false);
        let shortest_edge = v["size"]["shortest_edge"]
            .as_u64()
            .filter(|_| crop)
            .map(|x| x as usize);
        let rescale =
            flag("do_rescale").then(|| v["rescale_factor"].as_f64().unwrap_or(1.0 / 255.0));
        let normalize = if flag("do_normalize") {
            let mean = floats("image_mean")?.unwrap_or_else(|| vec![0.5; 3]);
            let std = floats("image_std")?.unwrap_or_else(|| vec![0.5; 3]);
            if std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
                anyhow::bail!(
                    "'{}': image_std holds a zero or non-finite value",
                    path.display()
                );
            }
            Some((mean, std))
        } else {
            None
        };
        Ok(ImagePrep {
            resize: flag("do_resize"),
            resample,
            shortest_edge,
            rescale,
            normalize,
        })
    }

    fn filter(&self) -> image::imageops::FilterType {
        use image::imageops::FilterType;
        match self.resample {
            0 => FilterType::Nearest,
            1 => FilterType::Lanczos3,
            3 => FilterType::CatmullRom,
            _ => FilterType::Triangle,
        }
    }

    /// The pixel values `[channels, height, width]` (row-major) of the image file `path`:
    /// `channels` 3 (RGB) or 1 (luma).
    pub fn pixels(
        &self,
        path: &Path,
        channels: usize,
        height: usize,
        width: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let img = image::ImageReader::open(path)
            .map_err(|e| anyhow::anyhow!("cannot read the image '{}': {e}", path.display()))?
            .with_guessed_format()
            .map_err(|e| anyhow::anyhow!("cannot read the image '{}': {e}", path.display()))?
            .decode()
            .map_err(|e| {
                anyhow::anyhow!(
                    "'{}' is not an image mpcc decodes (PNG or JPEG): {e}",
                    path.display()
                )
            })?;
        let (h, w) = (height as u32, width as u32);
        let img = match (self.resize, self.shortest_edge) {
            (false, _) => img,
            (true, Some(edge)) => {
                let (iw, ih) = (img.width().max(1), img.height().max(1));
                let edge = edge as u32;
                let (nw, nh) = if iw <= ih {
                    (edge, (edge as u64 * ih as u64 / iw as u64) as u32)
                } else {
                    ((edge as u64 * iw as u64 / ih as u64) as u32, edge)
                };
                img.resize_exact(nw.max(w), nh.max(h), self.filter())
            }
            (true, None) => img.resize_exact(w, h, self.filter()),
        };
        let (iw, ih) = (img.width(), img.height());
        if iw < w || ih < h {
            anyhow::bail!(
                "the image '{}' is {iw}x{ih} after preprocessing, smaller than the plan's \
                 {width}x{height}; compile with --image-size {ih},{iw} or give a larger image",
                path.display()
            );
        }
        let (x0, y0) = ((iw - w) / 2, (ih - h) / 2);
        let planes: Vec<Vec<u8>> = match channels {
            3 => {
                let rgb = img.to_rgb8();
                (0..3)
                    .map(|c| {
                        (0..h)
                            .flat_map(|y| (0..w).map(move |x| (x, y)))
                            .map(|(x, y)| rgb.get_pixel(x0 + x, y0 + y)[c])
                            .collect()
                    })
                    .collect()
            }
            1 => {
                let l = img.to_luma8();
                vec![(0..h)
                    .flat_map(|y| (0..w).map(move |x| (x, y)))
                    .map(|(x, y)| l.get_pixel(x0 + x, y0 + y)[0])
                    .collect()]
            }
            c => anyhow::bail!(
                "the plan's image input has {c} channels; --image makes 3 (RGB) or 1 (grey)"
            ),
        };
        let mut out = Vec::with_capacity(channels * height * width);
        for (c, plane) in planes.iter().enumerate() {
            for &p in plane {
                let mut x = p as f64;
                if let Some(f) = self.rescale {
                    x *= f;
                }
                if let Some((mean, std)) = &self.normalize {
                    let pick = |v: &[f64]| v.get(c).or(v.first()).copied().unwrap_or(0.0);
                    x = (x - pick(mean)) / pick(std).max(f64::MIN_POSITIVE);
                }
                out.push(x);
            }
        }
        Ok(out)
    }
}

/// Where the client file of the plan at `plan` lives.
pub fn client_path(plan: &Path) -> PathBuf {
    plan.with_extension("client.json")
}

/// Where the tokenizer copied for the plan at `plan` lives.
pub fn tokenizer_path(plan: &Path) -> PathBuf {
    plan.with_extension("tokenizer.json")
}

impl ClientInfo {
    /// The task and labels of an export folder's `config.json` (absent: nothing known).
    pub fn from_config(config: &Path) -> anyhow::Result<ClientInfo> {
        let mut info = ClientInfo {
            format: CLIENT_FORMAT.into(),
            ..ClientInfo::default()
        };
        if !config.exists() {
            return Ok(info);
        }
        let text = std::fs::read_to_string(config)
            .map_err(|e| anyhow::anyhow!("cannot read '{}': {e}", config.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("'{}' is not JSON: {e}", config.display()))?;
        info.task = v["architectures"].as_array().and_then(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .find_map(Task::from_architecture)
        });
        if let Some(map) = v["id2label"].as_object() {
            let mut labels: Vec<(usize, String)> = Vec::new();
            for (k, name) in map {
                let i: usize = k.parse().map_err(|_| {
                    anyhow::anyhow!("'{}': id2label key '{k}' is not an index", config.display())
                })?;
                labels.push((i, name.as_str().unwrap_or_default().to_string()));
            }
            labels.sort();
            if labels.iter().enumerate().any(|(j, (i, _))| *i != j) {
                anyhow::bail!("'{}': id2label does not number 0..n", config.display());
            }
            info.labels = labels.into_iter().map(|(_, n)| n).collect();
        }
        Ok(info)
    }

    /// Reads a client file.
    pub fn load(path: &Path) -> anyhow::Result<ClientInfo> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read the client file '{}': {e}", path.display())
        })?;
        let info: ClientInfo = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("'{}' is not a client file: {e}", path.display()))?;
        if info.format != CLIENT_FORMAT {
            anyhow::bail!(
                "'{}' has format '{}', this mpcc reads '{CLIENT_FORMAT}'; recompile the model",
                path.display(),
                info.format
            );
        }
        Ok(info)
    }

    /// The name of class `i`: its label, else `LABEL_i`.
    pub fn label(&self, i: usize) -> String {
        self.labels
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("LABEL_{i}"))
    }
}

/// Softmax of each row of `logits` (`rows x classes`), the `top_k` classes by score.
pub fn top_classes(logits: &[f64], classes: usize, top_k: usize) -> Vec<Vec<(usize, f64)>> {
    logits
        .chunks(classes.max(1))
        .map(|row| {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|x| (x - m).exp()).collect();
            let s: f64 = e.iter().sum();
            let mut p: Vec<(usize, f64)> = e.iter().map(|x| x / s).enumerate().collect();
            p.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            p.truncate(top_k.max(1));
            p
        })
        .collect()
}

/// Sentence embeddings from token embeddings `[batch, seq, dim]`: the mean over the
/// positions `mask` (`[batch, seq]`) keeps, or the first token; then L2 when `normalize`.
pub fn pool(
    hidden: &[f64],
    shape: &[usize],
    mask: Option<&[f64]>,
    how: Pool,
    normalize: bool,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let [b, t, d] = shape else {
        anyhow::bail!("pooling needs token embeddings [batch, seq, dim], got {shape:?}");
    };
    let (b, t, d) = (*b, *t, *d);
    let mut out = Vec::with_capacity(b);
    for r in 0..b {
        let row = &hidden[r * t * d..(r + 1) * t * d];
        let mut v = vec![0.0; d];
        match how {
            Pool::Cls => v.copy_from_slice(&row[..d]),
            Pool::Mean => {
                let mut n = 0.0;
                for j in 0..t {
                    let m = mask.map_or(1.0, |m| m[r * t + j]);
                    for k in 0..d {
                        v[k] += m * row[j * d + k];
                    }
                    n += m;
                }
                v.iter_mut().for_each(|x| *x /= f64::max(n, 1e-9));
            }
        }
        if normalize {
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
            v.iter_mut().for_each(|x| *x /= norm);
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Architectures map to tasks; softmax scores sum to one and sort; mean pooling honours
    /// the mask and normalisation gives unit vectors.
    #[test]
    fn tasks_scores_and_pooling() {
        assert_eq!(
            Task::from_architecture("BertForSequenceClassification"),
            Some(Task::TextClassification)
        );
        assert_eq!(
            Task::from_architecture("BertModel"),
            Some(Task::FeatureExtraction)
        );
        assert_eq!(Task::from_architecture("GPT2LMHeadModel"), None);
        let top = top_classes(&[1.0, 3.0, 2.0, 0.0, 0.0, 0.0], 3, 2);
        assert_eq!(top[0][0].0, 1);
        assert_eq!(top[0][1].0, 2);
        assert!((top[1][0].1 - 1.0 / 3.0).abs() < 1e-12);
        let h = [1.0, 2.0, 3.0, 4.0, 100.0, 100.0];
        let p = pool(&h, &[1, 3, 2], Some(&[1.0, 1.0, 0.0]), Pool::Mean, false).unwrap();
        assert_eq!(p[0], vec![2.0, 3.0]);
        let p = pool(&h, &[1, 3, 2], Some(&[1.0, 1.0, 0.0]), Pool::Mean, true).unwrap();
        assert!((p[0][0].hypot(p[0][1]) - 1.0).abs() < 1e-12);
        assert_eq!(
            pool(&h, &[1, 3, 2], None, Pool::Cls, false).unwrap()[0],
            vec![1.0, 2.0]
        );
    }
}
