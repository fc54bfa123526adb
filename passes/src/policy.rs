//! The one registry of named recipes ([`RECIPES`]) and the table of policies ([`POLICIES`]),
//! each a name, a description and its recipes. `--approx POLICY` picks a policy;
//! `--approx-override SELECTOR=RECIPE` names a recipe or a policy from these tables.

use crate::recipes::{self, ActivationRecipe, Recipe, RecipeKind, Recipes};
use std::fmt;

/// One named recipe.
#[derive(Clone, Copy, Debug)]
pub struct RecipeInfo {
    /// Name (`puma-softmax`), unique in [`RECIPES`].
    pub name: &'static str,
    /// One line saying what it computes.
    pub description: &'static str,
    /// The recipe.
    pub recipe: Recipe,
}

/// Every named recipe. Each policy's recipes are among them (tested).
pub const RECIPES: &[RecipeInfo] = &[
    RecipeInfo {
        name: "puma-softmax",
        description: "max-subtracted Taylor exp (10 squarings), cut-off 14, one reciprocal (3 iterations) per row",
        recipe: Recipe::Softmax(recipes::PUMA_SOFTMAX),
    },
    RecipeInfo {
        name: "mpcc-softmax",
        description: "max-subtracted exp as (degree-4 Taylor polynomial of d/16)^16 (6 multiplication levels instead of 10, more accurate), cut-off 14, one reciprocal (2 iterations) per row",
        recipe: Recipe::Softmax(recipes::MPCC_SOFTMAX),
    },
    RecipeInfo {
        name: "mpcc-fast-softmax",
        description: "mpcc-softmax with one reciprocal iteration (each row's sum inverted within a relative 7.4e-3, a common factor of the row): 3 rounds fewer",
        recipe: Recipe::Softmax(recipes::MPCC_FAST_SOFTMAX),
    },
    RecipeInfo {
        name: "puma-paper-softmax",
        description: "PUMA's softmax with SPU's 8 exp squarings",
        recipe: Recipe::Softmax(recipes::PUMA_PAPER_SOFTMAX),
    },
    RecipeInfo {
        name: "puma-gelu",
        description: "PUMA's 4 GeLU pieces with mpcc's refit coefficients (degree 8), |err| <= 4.05e-3",
        recipe: Recipe::Gelu(ActivationRecipe::Piecewise(recipes::MPCC_GELU)),
    },
    RecipeInfo {
        name: "puma-paper-gelu",
        description: "PUMA's published 4-piece GeLU table verbatim, |err| <= 2.0e-2",
        recipe: Recipe::Gelu(ActivationRecipe::Piecewise(recipes::PUMA_GELU)),
    },
    RecipeInfo {
        name: "secformer-gelu",
        description: "SecFormer's 0.5x(1 + erf(x/sqrt 2)), erf as a 7-term Fourier series on [-2.5, 2.5) by the sine protocol (material made offline by the parties), |err| <= 5.9e-2",
        recipe: Recipe::Gelu(ActivationRecipe::FourierErf(&recipes::SECFORMER_ERF)),
    },
    RecipeInfo {
        name: "puma-erf",
        description: "erf as 5 pieces (odd degree 5 in the middle), |err| <= 5.3e-4",
        recipe: Recipe::Erf(ActivationRecipe::Piecewise(recipes::ERF)),
    },
    RecipeInfo {
        name: "secformer-erf",
        description: "SecFormer's erf: a 7-term Fourier series on [-2.5, 2.5), +-1 outside, by the sine protocol, |err| <= 3.6e-2",
        recipe: Recipe::Erf(ActivationRecipe::FourierErf(&recipes::SECFORMER_ERF)),
    },
    RecipeInfo {
        name: "puma-tanh",
        description: "tanh as 5 pieces (odd degree 7 in the middle), |err| <= 8.5e-4",
        recipe: Recipe::Tanh(ActivationRecipe::Piecewise(recipes::TANH)),
    },
    RecipeInfo {
        name: "puma-sigmoid",
        description: "sigmoid as 5 pieces (1/2 + odd degree 5 in the middle), |err| <= 9.2e-4",
        recipe: Recipe::Sigmoid(ActivationRecipe::Piecewise(recipes::SIGMOID)),
    },
    RecipeInfo {
        name: "puma-silu",
        description: "SiLU as 5 pieces fitted by mpcc (0.5x + even degree 8 in the middle), |err| <= 2.7e-3",
        recipe: Recipe::Silu(ActivationRecipe::Piecewise(recipes::MPCC_SILU)),
    },
    RecipeInfo {
        name: "puma-paper-silu",
        description: "PUMA's hack_silu table (4 pieces) verbatim, |err| <= 7.2e-2",
        recipe: Recipe::Silu(ActivationRecipe::Piecewise(recipes::PUMA_SILU)),
    },
    RecipeInfo {
        name: "puma-rms-norm",
        description: "x * rsqrt(mean(x^2) + eps), one rsqrt (3 iterations) per row",
        recipe: Recipe::RmsNorm(recipes::PUMA_RMS_NORM),
    },
    RecipeInfo {
        name: "mpcc-fast-rms-norm",
        description: "x * rsqrt(mean(x^2) + eps) with one rsqrt iteration (each row's scale within a relative 1.14e-2, a common factor of the row): 6 rounds fewer",
        recipe: Recipe::RmsNorm(recipes::MPCC_FAST_RMS_NORM),
    },
    RecipeInfo {
        name: "secformer-rms-norm",
        description: "x * rsqrt(mean(x^2) + eps) with SecFormer's Goldschmidt iteration for the rsqrt (3 iterations after the normalisation and linear guess)",
        recipe: Recipe::RmsNorm(recipes::SECFORMER_RMS_NORM),
    },
    RecipeInfo {
        name: "mpcc-rms-norm",
        description: "x * rsqrt(mean(x^2) + eps), one rsqrt (2 iterations) per row",
        recipe: Recipe::RmsNorm(recipes::MPCC_RMS_NORM),
    },
    RecipeInfo {
        name: "puma-exp",
        description: "Taylor exp (1 + x/2^10)^(2^10)",
        recipe: Recipe::Exp(recipes::PUMA_EXP),
    },
    RecipeInfo {
        name: "puma-paper-exp",
        description: "Taylor exp (1 + x/2^8)^(2^8), SPU's default",
        recipe: Recipe::Exp(recipes::PUMA_PAPER_EXP),
    },
    RecipeInfo {
        name: "puma-div",
        description: "a * reciprocal(b), 3 iterations",
        recipe: Recipe::Div(recipes::PUMA_DIV),
    },
    RecipeInfo {
        name: "puma-sqrt",
        description: "x * rsqrt(x), 3 iterations",
        recipe: Recipe::Sqrt(recipes::PUMA_SQRT),
    },
    RecipeInfo {
        name: "mpcformer-2quad-softmax",
        description: "MPCFormer's 2Quad (x + 5)^2 / sum (x + 5)^2, one reciprocal (3 iterations) per row; retrain-required",
        recipe: Recipe::Softmax(recipes::MPCFORMER_SOFTMAX),
    },
    RecipeInfo {
        name: "mpcvit-relu-softmax",
        description: "MPCViT's ReLU-softmax ReLU(x) / (sum ReLU(x) + 1e-5), one reciprocal (3 iterations) per row; retrain-required",
        recipe: Recipe::Softmax(recipes::MPCVIT_RELU_SOFTMAX),
    },
    RecipeInfo {
        name: "mpcvit-scaling-attention",
        description: "MPCViT's scaling attention x / n (n the row length): one public multiply; retrain-required",
        recipe: Recipe::Softmax(recipes::MPCVIT_SCALING),
    },
    RecipeInfo {
        name: "mpcformer-quad-gelu",
        description: "MPCFormer's Quad GeLU 0.125x^2 + 0.25x + 0.5 (paper/Ditto form), |err| vs GeLU 0.56 on [-2, 2]; retrain-required",
        recipe: Recipe::Gelu(recipes::MPCFORMER_GELU),
    },
    RecipeInfo {
        name: "mpcformer-repo-quad-gelu",
        description: "MPCFormer's Quad GeLU as its repository computes it, 0.125x^2 + 0.5x + 0.25, |err| vs GeLU 0.25 on [-4, 4]; retrain-required",
        recipe: Recipe::Gelu(recipes::MPCFORMER_REPO_GELU),
    },
];

impl PartialEq for RecipeInfo {
    fn eq(&self, other: &RecipeInfo) -> bool {
        self.name == other.name
    }
}

/// One approximation policy: a recipe for every kind of op.
#[derive(Debug)]
pub struct PolicyInfo {
    /// Name (`--approx NAME`), unique in [`POLICIES`].
    pub name: &'static str,
    /// What it is, for `mpcc compile --help`.
    pub description: &'static str,
    /// Its recipes.
    pub recipes: Recipes,
}

/// The policies, the default first.
pub const POLICIES: &[PolicyInfo] = &[
    PolicyInfo {
        name: "puma",
        description: "PUMA's recipes (MPC-REFERENCE §2.1) with mpcc's refit GeLU and SiLU and \
                      mpcc's softmax exp (degree-4 Taylor polynomial of d/16, squared 4 times): \
                      4-piece GeLU, max-subtracted softmax with \
                      one reciprocal per row, LayerNorm via rsqrt with 2 iterations (the default)",
        recipes: recipes::PUMA,
    },
    PolicyInfo {
        name: "puma-paper",
        description: "PUMA as SPU runs it: PUMA's published GeLU and SiLU coefficients \
                      verbatim and SPU's default 8 exp squarings",
        recipes: recipes::PUMA_PAPER,
    },
    PolicyInfo {
        name: "mpcformer",
        description: "MPCFormer's recipes (MPC-REFERENCE §2.3): 2Quad softmax (x + 5)^2 / \
                      sum (x + 5)^2 and Quad GeLU 0.125x^2 + 0.25x + 0.5, the rest as `puma`; \
                      only for models distilled with them",
        recipes: recipes::MPCFORMER,
    },
    PolicyInfo {
        name: "secformer",
        description: "SecFormer's split (MPC-REFERENCE §2.4): 2Quad softmax (x + 5)^2 / \
                      sum (x + 5)^2, SecFormer's GeLU (`secformer-gelu`: erf as a 7-term \
                      Fourier series by the sine protocol), the rest as `puma`; only for \
                      models distilled with the 2Quad softmax",
        recipes: recipes::SECFORMER,
    },
    PolicyInfo {
        name: "mpcvit",
        description: "MPCViT's attention (MPC-REFERENCE §2.5): every attention head as \
                      ReLU-softmax ReLU(x) / (sum ReLU(x) + 1e-5) unless `mpcc compile \
                      --attention-map` gives it scaling attention x / n or the softmax; the \
                      rest as `puma`; only for models trained with them",
        recipes: recipes::MPCVIT,
    },
];

/// A policy of [`POLICIES`]: which base recipes the lowering passes use.
#[derive(Clone, Copy)]
pub struct Policy(&'static PolicyInfo);

impl Policy {
    /// `puma`, the default.
    pub const PUMA: Policy = Policy(&POLICIES[0]);
    /// `puma-paper`.
    pub const PUMA_PAPER: Policy = Policy(&POLICIES[1]);
    /// `mpcformer`.
    pub const MPCFORMER: Policy = Policy(&POLICIES[2]);
    /// `secformer`.
    pub const SECFORMER: Policy = Policy(&POLICIES[3]);
    /// `mpcvit`.
    pub const MPCVIT: Policy = Policy(&POLICIES[4]);

    /// Every policy, in [`POLICIES`] order.
    pub const ALL: &'static [Policy] = &[
        Policy::PUMA,
        Policy::PUMA_PAPER,
        Policy::MPCFORMER,
        Policy::SECFORMER,
        Policy::MPCVIT,
    ];

    /// Its entry of [`POLICIES`].
    pub fn info(self) -> &'static PolicyInfo {
        self.0
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The recipes (coefficients, iteration counts) of this policy.
    pub fn recipes(self) -> &'static Recipes {
        &self.0.recipes
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy(&POLICIES[0])
    }
}

impl PartialEq for Policy {
    fn eq(&self, other: &Policy) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Policy {}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Policy({})", self.name())
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        POLICIES
            .iter()
            .find(|p| p.name == s)
            .map(Policy)
            .ok_or_else(|| {
                format!(
                    "unknown approximation policy '{s}' (known: {})",
                    policy_names().join(", ")
                )
            })
    }
}

/// The names of [`POLICIES`], in order.
pub fn policy_names() -> Vec<&'static str> {
    POLICIES.iter().map(|p| p.name).collect()
}

/// The names of [`RECIPES`], in order.
pub fn recipe_names() -> Vec<&'static str> {
    RECIPES.iter().map(|r| r.name).collect()
}

/// Looks a recipe up by name.
pub fn find_recipe(name: &str) -> Option<&'static RecipeInfo> {
    RECIPES.iter().find(|r| r.name == name)
}

/// The names of the recipes in [`RECIPES`] that lower `kind`.
pub fn recipes_for_kind(kind: RecipeKind) -> Vec<&'static str> {
    RECIPES
        .iter()
        .filter(|r| r.recipe.kind() == kind)
        .map(|r| r.name)
        .collect()
}
