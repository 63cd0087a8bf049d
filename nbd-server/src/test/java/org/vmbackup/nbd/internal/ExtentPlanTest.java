package org.vmbackup.nbd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.vmbackup.nbd.NbdExtent;

class ExtentPlanTest {
    @Test
    void clipsMergesAndFillsGapsWithData() {
        List<NbdExtent> reported = List.of(NbdExtent.hole(0, 100), NbdExtent.hole(100, 100),
                NbdExtent.data(200, 100), NbdExtent.hole(300, 1000));
        assertThat(ExtentPlan.descriptors(50, 400, reported, 100)).containsExactly(NbdExtent.hole(50, 150),
                NbdExtent.data(200, 100), NbdExtent.hole(300, 150));
    }

    @Test
    void reqOneGivesOneDescriptor() {
        List<NbdExtent> reported = List.of(NbdExtent.data(0, 10), NbdExtent.hole(10, 10));
        assertThat(ExtentPlan.descriptors(0, 20, reported, 1)).containsExactly(NbdExtent.data(0, 10));
    }

    @Test
    void malformedBackendAnswersBecomeData() {
        assertThat(ExtentPlan.descriptors(100, 50, List.of(NbdExtent.hole(120, 30)), 10))
                .containsExactly(NbdExtent.data(100, 50));
        assertThat(ExtentPlan.descriptors(100, 50, List.of(), 10)).containsExactly(NbdExtent.data(100, 50));
        assertThat(ExtentPlan.descriptors(100, 50, null, 10)).containsExactly(NbdExtent.data(100, 50));
    }

    @Test
    void aBackendThatStopsShortGetsAShortReplyButAReadIsCoveredWhole() {
        // the uncovered rest is not called data: a following data run would otherwise swallow the holes after it
        assertThat(ExtentPlan.descriptors(0, 50, List.of(NbdExtent.hole(0, 20)), 10))
                .containsExactly(NbdExtent.hole(0, 20));
        assertThat(ExtentPlan.descriptors(0, 50, List.of(NbdExtent.data(0, 20)), 10))
                .containsExactly(NbdExtent.data(0, 20));
        assertThat(ExtentPlan.pieces(0, 50, List.of(NbdExtent.hole(0, 20)), 8))
                .containsExactly(NbdExtent.hole(0, 20), NbdExtent.data(20, 30));
    }

    @Test
    void readPiecesTreatHolesWithoutZeroAsData() {
        List<NbdExtent> reported = List.of(new NbdExtent(0, 10, true, false), NbdExtent.hole(10, 10),
                new NbdExtent(20, 10, false, true));
        assertThat(ExtentPlan.pieces(0, 30, reported, 8)).containsExactly(NbdExtent.data(0, 10),
                NbdExtent.hole(10, 20));
    }

    @Test
    void tooManyDataPiecesBecomeOne() {
        List<NbdExtent> reported = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            reported.add(i % 2 == 0 ? NbdExtent.data(i * 10L, 10) : NbdExtent.hole(i * 10L, 10));
        }
        assertThat(ExtentPlan.pieces(0, 200, reported, 4)).containsExactly(NbdExtent.data(0, 200));
    }
}
