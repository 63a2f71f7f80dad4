public enum HatchPlaceholder {}
