//! A Keras-like summary: layer, output shape, parameters, and the three totals.

use std::fmt;

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSummary {
    pub name: String,
    pub kind: String,
    pub output_shape: String,
    pub params: usize,
    pub trainable: bool,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSummary {
    pub layers: Vec<LayerSummary>,
}

impl ModelSummary {
    pub fn total(&self) -> usize {
        self.layers.iter().map(|l| l.params).sum()
    }
    pub fn trainable(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| l.trainable)
            .map(|l| l.params)
            .sum()
    }
    pub fn non_trainable(&self) -> usize {
        self.total() - self.trainable()
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for ModelSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = "─".repeat(72);
        writeln!(f, "{rule}")?;
        writeln!(
            f,
            "{:<34}{:<22}{:>16}",
            "Layer (type)", "Output Shape", "Param #"
        )?;
        writeln!(f, "{}", "═".repeat(72))?;
        for l in &self.layers {
            let name = format!("{} ({})", l.name, l.kind);
            let params = if l.trainable || l.params == 0 {
                thousands(l.params)
            } else {
                format!("{} frozen", thousands(l.params))
            };
            writeln!(f, "{name:<34}{:<22}{params:>16}", l.output_shape)?;
        }
        writeln!(f, "{}", "═".repeat(72))?;
        writeln!(f, "Total params: {}", thousands(self.total()))?;
        writeln!(f, "Trainable params: {}", thousands(self.trainable()))?;
        writeln!(
            f,
            "Non-trainable params: {}",
            thousands(self.non_trainable())
        )?;
        write!(f, "{rule}")
    }
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(20_223_927), "20,223,927");
    }
}
