"""Model builders and the catalogue (curated, torchvision and timm classifiers)."""
