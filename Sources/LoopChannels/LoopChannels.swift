// The umbrella module: `import LoopChannels` makes every library module's public API
// visible, so a user writes one import. The modules stay importable one by one, for a target
// that wants only part of the package.
//
// `@_exported` is the compiler's re-export attribute; Swift has no spelled-out form of it
// yet, and it is what umbrella modules across the ecosystem use.

@_exported public import AsyncChannels
@_exported public import EventLoop
@_exported public import Hatch
@_exported public import LoopThreadPool
