"""Controls that edit the preset: generated forms and the panel that groups them."""
