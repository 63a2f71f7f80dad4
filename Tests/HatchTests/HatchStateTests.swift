@testable import Hatch
import Testing

@Suite struct HatchStateTests {
    @Test func initialStateIsOpen() {
        let s = HatchState.initial
        #expect(!s.isLocked)
        #expect(s.isOpen(.sender, epoch: 0))
        #expect(s.isOpen(.receiver, epoch: 0))
    }
}
