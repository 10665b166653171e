"""Words the window shows: each objective's formula and what it assumes (DESIGN section 3)."""

OBJECTIVES = {
    "esm": ("Explicit score matching",
            "½ E<sub>p</sub> |s<sub>θ</sub>(x) − ∇log p(x)|²",
            "Needs the true score ∇log p: only possible on toy densities like these."),
    "ism": ("Implicit score matching (Hyvärinen 2005)",
            "E<sub>p</sub> [ ½ |s<sub>θ</sub>(x)|² + tr ∇<sub>x</sub>s<sub>θ</sub>(x) ]",
            "No true score needed; the exact trace costs one derivative per dimension. "
            "Equals ESM up to the constant ½ E|∇log p|²."),
    "ssm": ("Sliced score matching (Song et al. 2019)",
            "E<sub>p</sub> E<sub>v</sub> [ vᵀ∇<sub>x</sub>s<sub>θ</sub> v + ½ (vᵀs<sub>θ</sub>)² ]",
            "Random projections v replace the trace: one Jacobian-vector product, any dimension."),
    "ssm_vr": ("Sliced score matching, variance reduced",
               "E<sub>p</sub> E<sub>v</sub> [ vᵀ∇<sub>x</sub>s<sub>θ</sub> v + ½ |s<sub>θ</sub>|² ]",
               "As SSM with the second term in closed form (E[vvᵀ] = I): lower variance."),
    "dsm": ("Denoising score matching (Vincent 2011)",
            "½ E |s<sub>θ</sub>(x̃) + (x̃ − x)/σ²|²,  x̃ = x + σz",
            "Learns the score of the noisy density p<sub>σ</sub>: biased for large σ, "
            "high variance for small σ."),
    "ncsn": ("Noise-conditional score network (Song & Ermon 2019)",
             "½ E [ σ² |s<sub>θ</sub>(x̃, σ) + (x̃ − x)/σ²|² ],  σ ∈ {σ<sub>1</sub> > … > σ<sub>L</sub>}",
             "One network for many noise levels; sample with annealed Langevin."),
    "ddpm": ("Denoising diffusion (DDPM, Ho et al. 2020)",
             "E |ε<sub>θ</sub>(x<sub>t</sub>, t) − ε|²,  score = −ε<sub>θ</sub>/√(1 − ᾱ<sub>t</sub>)",
             "DSM across T noise levels with linear β from 10⁻⁴ to 0.02; ancestral sampler."),
}

SAMPLER_TOOLTIP = (
    "Langevin: x ← x + (ε/2) s(x) + √ε z.  Some notes write ε²/2 and ε z: their ε is the "
    "square root of this one.")

SAMPLERS = {"langevin": "Langevin", "annealed_langevin": "annealed Langevin",
            "ddpm": "DDPM ancestral"}


def sampler_label(kind: str) -> str:
    """A sampler's name as written in prose (Langevin is a name: capitalised)."""
    return SAMPLERS.get(kind, kind.replace("_", " "))
