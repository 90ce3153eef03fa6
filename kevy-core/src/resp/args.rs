//! Command arguments as spans over a byte buffer: parsing records where each argument
//! lies instead of copying it, and a handler reads them through [`Args`].

/// Where each argument lies in its buffer: (start, length) pairs.
#[derive(Default, Debug, Clone)]
pub struct ArgSpans(Vec<(u32, u32)>);

impl ArgSpans {
    pub fn with_capacity(n: usize) -> Self {
        ArgSpans(Vec::with_capacity(n))
    }
    pub fn clear(&mut self) {
        self.0.clear();
    }
    pub fn push(&mut self, start: usize, len: usize) {
        self.0.push((start as u32, len as u32));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.0.iter().map(|&(s, l)| (s as usize, l as usize))
    }
    /// `count` spans from index `first` (one command's arguments within a batch).
    pub fn range(&self, first: usize, count: usize) -> &[(u32, u32)] {
        &self.0[first..first + count]
    }
}

/// A command's arguments, `args[0]` being the command name.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    base: &'a [u8],
    spans: &'a [(u32, u32)],
}

impl<'a> Args<'a> {
    pub fn new(base: &'a [u8], spans: &'a ArgSpans) -> Self {
        Args { base, spans: &spans.0 }
    }
    /// Arguments described by a slice of spans over `base`.
    pub fn from_spans(base: &'a [u8], spans: &'a [(u32, u32)]) -> Self {
        Args { base, spans }
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
    /// The i-th argument. Panics when out of range: arity is checked before handlers run.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (s, l) = self.spans[i];
        &self.base[s as usize..(s + l) as usize]
    }
    /// The i-th argument, or None past the end.
    pub fn opt(&self, i: usize) -> Option<&'a [u8]> {
        (i < self.len()).then(|| self.get(i))
    }
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// Arguments from index `from` on.
    pub fn from(&self, from: usize) -> impl Iterator<Item = &'a [u8]> + '_ {
        (from..self.len()).map(move |i| self.get(i))
    }
}

/// Arguments that own their bytes (a blocked command kept for when it is served).
#[derive(Debug, Clone, Default)]
pub struct OwnedArgs {
    data: Vec<u8>,
    spans: ArgSpans,
}

impl OwnedArgs {
    pub fn from_slices<I: IntoIterator<Item = T>, T: AsRef<[u8]>>(items: I) -> Self {
        let mut owned = OwnedArgs::default();
        for a in items {
            let a = a.as_ref();
            owned.spans.push(owned.data.len(), a.len());
            owned.data.extend_from_slice(a);
        }
        owned
    }
    pub fn args(&self) -> Args<'_> {
        Args::new(&self.data, &self.spans)
    }
}
