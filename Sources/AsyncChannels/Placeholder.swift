public enum AsyncChannelsPlaceholder {}
