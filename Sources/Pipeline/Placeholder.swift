public enum PipelinePlaceholder {}
